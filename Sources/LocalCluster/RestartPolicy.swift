/// When a local cluster restarts a child that crashed (`s2m3 up`): after ``firstDelay``, doubling
/// with each crash of that child within ``window`` up to ``maximumDelay``; the ``crashLimit``-th
/// crash within ``window`` is a crash loop, and the cluster stops instead.
public struct RestartPolicy: Sendable, Equatable {
    public var firstDelay: Duration = .milliseconds(500)
    public var maximumDelay: Duration = .seconds(8)
    public var crashLimit = 5
    public var window: Duration = .seconds(60)

    public init() {}
}

/// One child's recent crashes under a ``RestartPolicy``: what to do about the next one. Pure.
public struct CrashHistory: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Restart after `delay`; this is crash number `crash` within the window.
        case restart(after: Duration, crash: Int)
        /// `crashes` crashes within the window: stop restarting.
        case crashLoop(crashes: Int)
    }

    public let policy: RestartPolicy
    private var crashes: [ContinuousClock.Instant] = []

    public init(policy: RestartPolicy) { self.policy = policy }

    /// Records a crash at `now` and decides.
    public mutating func record(at now: ContinuousClock.Instant) -> Decision {
        crashes = crashes.filter { now - $0 < policy.window } + [now]
        let count = crashes.count
        if count >= policy.crashLimit { return .crashLoop(crashes: count) }
        var delay = policy.firstDelay
        for _ in 1..<count where delay < policy.maximumDelay { delay *= 2 }
        return .restart(after: min(delay, policy.maximumDelay), crash: count)
    }
}
