import FerryCore
import FerryServing

/// JSON documents of the v2 protocol and Triton's extensions, with Triton's
/// field names and with every field present (clients such as perf_analyzer
/// read `max_batch_size` even when it is 0).
extension JSONWriter {
    mutating func tensorMetadata(_ spec: TensorSpec) {
        object { object in
            object.member("name") { $0.string(spec.name) }
            object.member("datatype") { $0.string(spec.datatype.rawValue) }
            object.member("shape") { $0.list(spec.shape.dimensions) { $0.integer($1) } }
        }
    }

    mutating func modelConfiguration(_ config: ModelConfiguration) {
        object { object in
            object.member("name") { $0.string(config.name) }
            object.member("platform") { $0.string(config.platform) }
            object.member("backend") { $0.string(config.backend) }
            object.member("version_policy") { writer in
                writer.object { policy in
                    switch config.versionPolicy {
                    case .latest(let count):
                        policy.member("latest") { $0.object { $0.member("num_versions") { $0.integer(count) } } }
                    case .all:
                        policy.member("all") { $0.object { _ in } }
                    case .specific(let versions):
                        policy.member("specific") { $0.object { $0.member("versions") { $0.list(versions) { $0.integer($1) } } } }
                    }
                }
            }
            object.member("max_batch_size") { $0.integer(config.maxBatchSize) }
            object.member("input") { $0.list(config.inputs) { $0.configTensor($1, input: true) } }
            object.member("output") { $0.list(config.outputs) { $0.configTensor($1, input: false) } }
            object.member("instance_group") { writer in
                let groups =
                    config.instanceGroups.isEmpty
                    ? [ModelConfiguration.InstanceGroup(name: config.name, kind: .cpu, count: config.instanceCount ?? 1)]
                    : config.instanceGroups
                writer.list(groups) { writer, configured in
                    writer.object { group in
                        group.member("name") { $0.string(configured.name.isEmpty ? config.name : configured.name) }
                        group.member("kind") { $0.string(configured.kind.rawValue) }
                        group.member("count") { $0.integer(configured.count) }
                        group.member("gpus") { $0.list(configured.gpus) { $0.integer($1) } }
                    }
                }
            }
            if !config.gpuAccelerators.isEmpty || !config.cpuAccelerators.isEmpty {
                object.member("optimization") { writer in
                    writer.object { optimization in
                        optimization.member("execution_accelerators") { writer in
                            writer.object { accelerators in
                                accelerators.member("gpu_execution_accelerator") { $0.list(config.gpuAccelerators) { $0.accelerator($1) } }
                                accelerators.member("cpu_execution_accelerator") { $0.list(config.cpuAccelerators) { $0.accelerator($1) } }
                            }
                        }
                    }
                }
            }
            object.member("default_model_filename") { $0.string(config.defaultModelFilename) }
            if let batching = config.dynamicBatching {
                object.member("dynamic_batching") { writer in
                    writer.object { object in
                        object.member("preferred_batch_size") { $0.list(batching.preferredBatchSizes) { $0.integer($1) } }
                        object.member("max_queue_delay_microseconds") { $0.integer(batching.maxQueueDelayMicroseconds) }
                        object.member("priority_levels") { $0.integer(batching.priorityLevels) }
                        object.member("default_priority_level") { $0.integer(batching.defaultPriorityLevel) }
                        let policy = batching.defaultQueuePolicy
                        object.member("default_queue_policy") { writer in
                            writer.object { object in
                                object.member("timeout_action") { $0.string(policy.timeoutAction.rawValue) }
                                object.member("default_timeout_microseconds") { $0.integer(policy.defaultTimeoutMicroseconds) }
                                object.member("allow_timeout_override") { $0.bool(policy.allowTimeoutOverride) }
                                object.member("max_queue_size") { $0.integer(policy.maxQueueSize) }
                            }
                        }
                    }
                }
            }
            object.member("parameters") { writer in
                writer.object { object in
                    for key in config.parameters.keys.sorted() {
                        object.member(key) { $0.object { $0.member("string_value") { $0.string(config.parameters[key]!) } } }
                    }
                }
            }
            object.member("model_warmup") { writer in
                writer.list(config.warmups) { writer, warmup in
                    writer.object { object in
                        object.member("name") { $0.string(warmup.name) }
                        object.member("batch_size") { $0.integer(warmup.batchSize) }
                        object.member("count") { $0.integer(warmup.count) }
                        object.member("inputs") { writer in
                            writer.object { inputs in
                                for input in warmup.inputs {
                                    inputs.member(input.name) { writer in
                                        writer.object { object in
                                            object.member("data_type") { $0.string("TYPE_" + input.datatype.tritonName) }
                                            object.member("dims") { $0.list(input.dims) { $0.integer($1) } }
                                            switch input.values {
                                            case .zero: object.member("zero_data") { $0.bool(true) }
                                            case .random: object.member("random_data") { $0.bool(true) }
                                            case .file(let file): object.member("input_data_file") { $0.string(file) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    mutating func accelerator(_ accelerator: ExecutionAccelerator) {
        object { object in
            object.member("name") { $0.string(accelerator.name) }
            object.member("parameters") { writer in
                writer.object { parameters in
                    for key in accelerator.parameters.keys.sorted() { parameters.member(key) { $0.string(accelerator.parameters[key]!) } }
                }
            }
        }
    }

    mutating func configTensor(_ tensor: ModelConfiguration.Tensor, input: Bool) {
        object { object in
            object.member("name") { $0.string(tensor.name) }
            object.member("data_type") { $0.string("TYPE_" + tensor.datatype.tritonName) }
            object.member("dims") { $0.list(tensor.dims) { $0.integer($1) } }
            if let reshape = tensor.reshape {
                object.member("reshape") { $0.object { $0.member("shape") { $0.list(reshape) { $0.integer($1) } } } }
            }
            object.member("is_shape_tensor") { $0.bool(false) }
            if input {
                object.member("format") { $0.string("FORMAT_NONE") }
                object.member("optional") { $0.bool(false) }
            } else {
                object.member("label_filename") { $0.string("") }
            }
        }
    }

    mutating func modelStatistics(_ stats: ModelStatistics) {
        object { object in
            object.member("name") { $0.string(stats.name) }
            object.member("version") { $0.string(stats.version) }
            object.member("last_inference") { $0.integer(stats.lastInference) }
            object.member("inference_count") { $0.integer(stats.inferenceCount) }
            object.member("execution_count") { $0.integer(stats.executionCount) }
            object.member("inference_stats") { writer in
                writer.object { object in
                    object.member("success") { $0.duration(stats.success) }
                    object.member("fail") { $0.duration(stats.fail) }
                    object.member("queue") { $0.duration(stats.queue) }
                    object.member("compute_input") { $0.duration(stats.computeInput) }
                    object.member("compute_infer") { $0.duration(stats.computeInfer) }
                    object.member("compute_output") { $0.duration(stats.computeOutput) }
                    object.member("cache_hit") { $0.duration(StatisticDuration()) }
                    object.member("cache_miss") { $0.duration(StatisticDuration()) }
                }
            }
            object.member("batch_stats") { writer in
                writer.list(stats.batches) { writer, batch in
                    writer.object { object in
                        object.member("batch_size") { $0.integer(batch.batchSize) }
                        object.member("compute_input") { $0.duration(batch.computeInput) }
                        object.member("compute_infer") { $0.duration(batch.computeInfer) }
                        object.member("compute_output") { $0.duration(batch.computeOutput) }
                    }
                }
            }
            object.member("memory_usage") { writer in
                writer.list(stats.memoryBytes.map { [$0] } ?? []) { writer, bytes in
                    writer.object { object in
                        object.member("type") { $0.string("CPU") }
                        object.member("id") { $0.integer(0) }
                        object.member("byte_size") { $0.integer(UInt64(bytes)) }
                    }
                }
            }
            object.member("warmup_stats") { $0.duration(stats.warmup) }
        }
    }

    mutating func duration(_ duration: StatisticDuration) {
        object { object in
            object.member("count") { $0.integer(duration.count) }
            object.member("ns") { $0.integer(duration.nanoseconds) }
        }
    }
}
