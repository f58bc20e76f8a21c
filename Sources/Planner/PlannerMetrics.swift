import CoreMetrics
import S2M3Core

/// What the planner counts (docs/operations.md): plans published, the epoch of the newest, the
/// module moves they asked for (`action` = `load` / `unload`), the devices planned for and how long
/// each decision's solve took. Made from the global `MetricsSystem` factory (a no-op until an
/// executable bootstraps one).
struct PlannerMetrics: Sendable {
    private let plans = Counter(label: "s2m3_planner_plans_total")
    private let loads = Counter(label: "s2m3_planner_moves_total", dimensions: [("action", "load")])
    private let unloads = Counter(label: "s2m3_planner_moves_total", dimensions: [("action", "unload")])
    private let epoch = Gauge(label: "s2m3_plan_epoch")
    private let devices = Gauge(label: "s2m3_planner_devices")
    private let solve = Timer(label: "s2m3_planner_solve_duration_seconds")

    func published(_ plan: PlanMessage) {
        plans.increment()
        epoch.record(plan.epoch)
        devices.record(plan.devices.count)
        loads.increment(by: plan.moves.count { $0.action == .load })
        unloads.increment(by: plan.moves.count { $0.action == .unload })
    }

    func solved(in duration: Duration) {
        let parts = duration.components
        solve.recordNanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }
}
