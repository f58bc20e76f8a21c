import Runtime

/// The compute speed every device of a local cluster announces. They all run on this machine's
/// CPU, so it is measured once, here, before any service starts, rather than by each device while
/// the others start beside it: two devices calibrating at once on 2 cores measured 61.7 and
/// 102.9 GFLOP/s, and the planner then gave the "faster" one the Whisper modules, 0.98 of its time
/// busy against 0.52 for the other (docs/benchmarks.md, "What limits it").
enum LocalDeviceSpeed {
    /// `given` (an operator's `--device-gflops`), else this machine's calibration.
    static func gflops(given: Double?) async throws -> Double {
        if let given { return given }
        return try await ComputeCalibration.run().gflops
    }
}
