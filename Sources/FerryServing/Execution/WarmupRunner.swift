import FerryCore

/// Runs a version's `model_warmup` samples on each of its instances before
/// the version is published, so that it is READY only once they all ran.
enum WarmupRunner {
    /// Runs every sample `count` times on every session; returns the runs and
    /// their total time. A sample that does not fit the model (a wrong input
    /// name, type or shape, a short data file) fails the load with the reason.
    static func run(
        _ config: ModelConfiguration, on sessions: [any ModelSession], modelDirectory: String?
    ) throws(FerryError) -> StatisticDuration {
        var total = StatisticDuration()
        guard !config.warmups.isEmpty else { return total }
        let signature = ModelSignature(
            inputs: config.inputs.map { InferenceServer.clientSpec($0, config: config) },
            outputs: config.outputs.map { InferenceServer.clientSpec($0, config: config) })
        for warmup in config.warmups {
            func fail(_ problem: String) -> FerryError {
                FerryError(.failedPrecondition, "model '\(config.name)': model_warmup '\(warmup.name)' \(problem)")
            }
            let request = try warmup.request(for: config, modelDirectory: modelDirectory)
            let outputs: [String]
            let inputs: [Tensor]
            do throws(FerryError) {
                outputs = try signature.validate(request, modelName: config.name)
                inputs = try InferenceServer.modelInputs(request.inputs, config: config, batchSize: max(1, warmup.batchSize))
            } catch {
                throw fail("does not fit the model: \(error.message)")
            }
            for session in sessions {
                for _ in 0..<max(1, warmup.count) {
                    let started = ContinuousClock.now
                    do throws(FerryError) {
                        _ = try session.run(inputs, outputs: outputs)
                    } catch {
                        throw fail("failed to run: \(error.message)")
                    }
                    total.add(ContinuousClock.now - started)
                }
            }
        }
        return total
    }
}
