/// The memory budget `s2m3 up` gives each device when none is given.
public enum ClusterBudget {
    /// Memory budget for each of `devices` devices: the agent's own footprint `base` plus room for
    /// the modules, namely the largest module and a fair share of the total with slack for packing
    /// (×1.5 / N, the largest ×1.25), but less than the total, so that no single device can hold
    /// every module while all of them together can. Module figures include their run-time working
    /// sets (docs/engine.md, "Module memory"); the device counts `base` against its budget.
    public static func deviceBudget(total: Int, largest: Int, devices: Int, base: Int? = nil) -> Int {
        let share = Int((Double(total) * 1.5 / Double(max(devices, 1))).rounded(.up))
        let budget = max(share, Int((Double(largest) * 1.25).rounded(.up)))
        return (devices > 1 ? min(budget, total - 1) : budget) + agentAllowance(base: base)
    }

    /// What a device agent needs for itself: the footprint the module probe measured before loading
    /// its module (an `s2m3` process with the catalog read and ONNX Runtime started), plus 25 % for
    /// what an agent adds (its broker connection, queues, built-in operations' tables); when nothing
    /// was measured, ``unmeasuredBaseBytes``.
    public static func agentAllowance(base: Int?) -> Int {
        guard let base, base > 0 else { return unmeasuredBaseBytes }
        return Int((Double(base) * 1.25).rounded(.up))
    }

    /// The allowance when no base was measured (module costs given by hand): 96 MiB, above the
    /// largest agent footprint measured on the reference machine (docs/benchmarks.md).
    public static let unmeasuredBaseBytes = 96 << 20
}
