/// One module measured in a fresh process (by Runtime's `ModuleCostProbe`, run as
/// `s2m3 probe-module FILE --timed`): the resident memory its loading adds, the median of one model
/// run on synthetic inputs, and the measuring process's speed in the device agents' calibration.
public struct ModuleMeasurement: Sendable, Hashable {
    public var residentBytes: Int
    /// Median of one model run, ms (nil: the model does not run on synthetic inputs).
    public var p50Ms: Double?
    /// The measuring process's speed in the device agents' calibration, GFLOP/s.
    public var referenceGflops: Double

    public init(residentBytes: Int, p50Ms: Double?, referenceGflops: Double) {
        self.residentBytes = residentBytes
        self.p50Ms = p50Ms
        self.referenceGflops = referenceGflops
    }

    /// The measuring child's last line: `residentBytes p50Ms referenceGflops` (p50 `-` when not timed).
    public var line: String { "\(residentBytes) \(p50Ms.map { String($0) } ?? "-") \(referenceGflops)" }

    /// Parses ``line``; nil unless it has three fields, whole bytes and a positive finite speed.
    public init?(line: String) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, let bytes = Int(fields[0]), bytes >= 0,
              let speed = Double(fields[2]), speed.isFinite, speed > 0 else { return nil }
        let p50 = Double(fields[1])
        guard p50.map({ $0.isFinite && $0 >= 0 }) ?? (fields[1] == "-") else { return nil }
        self.init(residentBytes: bytes, p50Ms: p50, referenceGflops: speed)
    }
}
