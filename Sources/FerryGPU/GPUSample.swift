/// One GPU's figures at one moment, as NVML reports them (Triton's `nv_gpu_*` metrics).
public struct GPUSample: Sendable, Hashable {
    public var index: Int
    public var uuid: String
    public var name: String
    /// 0...1 over NVML's last sample period; nil where the device does not say.
    public var utilization: Double?
    public var memoryUsedBytes: Double?
    public var memoryTotalBytes: Double?
    public var powerWatts: Double?
    public var powerLimitWatts: Double?
    /// Since the driver last loaded.
    public var energyJoules: Double?
}
