/// The memory budget `s2m3 up` gives each device when none is given.
public enum ClusterBudget {
    /// Memory budget for each of `devices` devices: room for the largest module and a fair share of
    /// the total with slack for packing (×1.5 / N, the largest ×1.25), but less than the total, so
    /// that no single device can hold every module while all of them together can.
    public static func deviceBudget(total: Int, largest: Int, devices: Int) -> Int {
        let share = Int((Double(total) * 1.5 / Double(max(devices, 1))).rounded(.up))
        let budget = max(share, Int((Double(largest) * 1.25).rounded(.up)))
        return devices > 1 ? min(budget, total - 1) : budget
    }
}
