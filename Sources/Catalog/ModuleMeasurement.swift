/// One module measured in a fresh process (by Runtime's `ModuleCostProbe`, run as
/// `s2m3 probe-module --module ID --timed`): its memory, the median of one model run on synthetic
/// inputs, and the measuring process's speed in the device agents' calibration.
public struct ModuleMeasurement: Sendable, Hashable {
    /// Resident memory the module needs: its peak after loading and running at the largest inputs
    /// the catalog allows (weights and run-time working set), bytes. What the planner counts.
    public var residentBytes: Int
    /// Median of one model run, ms (nil: the model does not run on synthetic inputs).
    public var p50Ms: Double?
    /// The measuring process's speed in the device agents' calibration, GFLOP/s.
    public var referenceGflops: Double
    /// Resident memory loading alone added, bytes.
    public var loadBytes: Int
    /// Resident memory left after the runs ended, bytes (below ``residentBytes`` when the working set
    /// was handed back).
    public var settledBytes: Int
    /// The measuring process's own resident memory before the module was loaded (the `s2m3`
    /// executable with the catalog read and ONNX Runtime started), bytes; 0 when not measured.
    public var baseBytes: Int

    public init(
        residentBytes: Int, p50Ms: Double?, referenceGflops: Double, loadBytes: Int? = nil, settledBytes: Int? = nil, baseBytes: Int = 0
    ) {
        self.baseBytes = baseBytes
        self.residentBytes = residentBytes
        self.p50Ms = p50Ms
        self.referenceGflops = referenceGflops
        self.loadBytes = loadBytes ?? residentBytes
        self.settledBytes = settledBytes ?? residentBytes
    }

    /// The measuring child's last line: `residentBytes p50Ms referenceGflops loadBytes settledBytes baseBytes`
    /// (p50 `-` when not timed).
    public var line: String {
        "\(residentBytes) \(p50Ms.map { String($0) } ?? "-") \(referenceGflops) \(loadBytes) \(settledBytes) \(baseBytes)"
    }

    /// Parses ``line``; nil unless it has six fields, whole non-negative bytes (load and settled at
    /// most the peak, all at most 1 TiB) and a positive finite speed.
    public init?(line: String) {
        let fields = line.split(separator: " ")
        guard fields.count == 6, let bytes = Int(fields[0]), (0...(1 << 40)).contains(bytes),
              let speed = Double(fields[2]), speed.isFinite, speed > 0,
              let load = Int(fields[3]), (0...bytes).contains(load), let settled = Int(fields[4]), (0...bytes).contains(settled),
              let base = Int(fields[5]), (0...(1 << 40)).contains(base)
        else { return nil }
        let p50 = Double(fields[1])
        guard p50.map({ $0.isFinite && $0 >= 0 }) ?? (fields[1] == "-") else { return nil }
        self.init(residentBytes: bytes, p50Ms: p50, referenceGflops: speed, loadBytes: load, settledBytes: settled, baseBytes: base)
    }
}
