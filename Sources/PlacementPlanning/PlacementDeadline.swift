import S2M3Core
/// The one wall-clock deadline of a whole ``Placement/solve(_:algorithm:previous:options:)``: every
/// phase that can stop early (local search, branch and bound, replica planning) asks it between
/// units of work, and it remembers whether it cut one, so the plan can say so.
///
/// A class so the phases share one record of whether time ran out. Not `Sendable`: one solve runs
/// on one thread.
final class PlacementDeadline {
    /// Nil: no limit.
    let instant: ContinuousClock.Instant?
    /// True once a phase found the deadline passed (and stopped because of it).
    private(set) var reached = false

    init(_ instant: ContinuousClock.Instant?) {
        self.instant = instant
    }

    /// Whether the deadline has passed. Reads the clock (tens of nanoseconds), so callers ask
    /// between units of work that cost far more: a move evaluated, a search node, a replica tried.
    func passed() -> Bool {
        if reached { return true }
        guard let instant else { return false }
        if ContinuousClock.now >= instant { reached = true }
        return reached
    }
}
