import DeviceAgent
import S2M3Core
import Testing

@Suite("Hosting state")
struct HostingStateTests {
    static let digests = ["a": "sha256:aa", "b": "sha256:bb", "c": "sha256:cc"]

    static func assignment(_ epoch: Int, _ modules: [(String, Int)], device: String = "box-1") -> DeviceAssignment {
        DeviceAssignment(
            epoch: epoch, device: device,
            modules: modules.map { .init(module: $0.0, digest: digests[$0.0] ?? "sha256:00", memoryBytes: $0.1) }, timestampMs: 1)
    }

    /// Applies a decision as the agent would (every load succeeds).
    static func applyAll(_ state: inout HostingState, _ decision: HostingState.Decision) {
        guard case .apply(let change) = decision else { return }
        for id in change.unload { state.unloaded(id) }
        for module in change.load { state.loaded(module) }
        state.finish(change, failure: nil)
    }

    @Test func appliesLoadsAndUnloads() throws {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        let first = state.decide(Self.assignment(1, [("a", 40), ("b", 30)]))
        guard case .apply(let change) = first else { Issue.record("expected apply, got \(first)"); return }
        #expect(change.load.map(\.module) == ["a", "b"])
        #expect(change.unload.isEmpty)
        #expect(state.report == .init(epoch: 1, status: .loading))
        Self.applyAll(&state, first)
        #expect(state.report == .init(epoch: 1, status: .applied))
        #expect(state.usedBytes == 70)

        // b stays, a goes, c comes: 70 + 50 > 100, so unload first.
        let second = state.decide(Self.assignment(2, [("b", 30), ("c", 50)]))
        guard case .apply(let next) = second else { Issue.record("expected apply, got \(second)"); return }
        #expect(next.load.map(\.module) == ["c"])
        #expect(next.unload == ["a"])
        #expect(next.keep.map(\.module) == ["b"])
        #expect(next.unloadFirst)
        Self.applyAll(&state, second)
        #expect(Set(state.hosted.keys) == ["b", "c"])
        #expect(state.usedBytes == 80)
    }

    @Test func loadsFirstWhenOldAndNewFitTogether() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        Self.applyAll(&state, state.decide(Self.assignment(1, [("a", 20)])))
        guard case .apply(let change) = state.decide(Self.assignment(2, [("b", 30)])) else {
            Issue.record("expected apply")
            return
        }
        #expect(!change.unloadFirst)
        #expect(change.unload == ["a"])
    }

    @Test func refusesOverBudgetAndKeepsWhatItHad() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        Self.applyAll(&state, state.decide(Self.assignment(1, [("a", 40)])))
        let decision = state.decide(Self.assignment(2, [("a", 40), ("b", 70)]))
        guard case .refuse(let reason) = decision else { Issue.record("expected refuse, got \(decision)"); return }
        #expect(reason.contains("budget"))
        #expect(state.report?.status == .refused)
        #expect(state.report?.epoch == 2)
        #expect(Array(state.hosted.keys) == ["a"])
    }

    /// The agent's own footprint counts against the budget: 100 − 35 leaves 65 for modules.
    @Test func refusesWhatFitsTheBudgetButNotTheBudgetLessTheBase() {
        var state = HostingState(device: "box-1", budgetBytes: 100, baseBytes: 35, catalogDigests: Self.digests)
        #expect(state.moduleBudgetBytes == 65)
        let decision = state.decide(Self.assignment(1, [("a", 40), ("b", 30)]))  // 70 ≤ 100, but > 65
        guard case .refuse(let reason) = decision else { Issue.record("expected refuse, got \(decision)"); return }
        #expect(reason.contains("leaves 0.0 MB") || reason.contains("(65 bytes)"))
        #expect(state.hosted.isEmpty && state.report?.status == .refused)
        // Exactly what is left is accepted.
        guard case .apply = state.decide(Self.assignment(2, [("a", 40), ("b", 25)])) else { Issue.record("65 bytes refused"); return }
    }

    /// Old and new together are counted against the budget less the base: unload first when they overrun it.
    @Test func unloadsFirstWhenOldAndNewOverrunTheBudgetLessTheBase() {
        var state = HostingState(device: "box-1", budgetBytes: 100, baseBytes: 50, catalogDigests: Self.digests)
        Self.applyAll(&state, state.decide(Self.assignment(1, [("a", 30)])))
        guard case .apply(let change) = state.decide(Self.assignment(2, [("b", 30)])) else { Issue.record("expected apply"); return }
        #expect(change.unloadFirst)  // 30 + 30 > 50 (though < 100)
    }

    @Test func refusesDigestMismatchUnknownModuleAndOtherDevice() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        var wrong = Self.assignment(1, [("a", 10)])
        wrong.modules[0].digest = "sha256:ff"
        guard case .refuse(let digestReason) = state.decide(wrong) else { Issue.record("digest mismatch not refused"); return }
        #expect(digestReason.contains("digest"))
        guard case .refuse(let unknownReason) = state.decide(Self.assignment(2, [("zz", 10)])) else {
            Issue.record("unknown module not refused")
            return
        }
        #expect(unknownReason.contains("zz"))
        guard case .refuse(let deviceReason) = state.decide(Self.assignment(3, [("a", 10)], device: "box-2")) else {
            Issue.record("another device's assignment not refused")
            return
        }
        #expect(deviceReason.contains("box-2"))
        #expect(state.hosted.isEmpty)
    }

    @Test func digestsMayCarryTheSha256Prefix() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: ["a": "ab12"])
        let assignment = DeviceAssignment(epoch: 1, device: "box-1", modules: [.init(module: "a", digest: "sha256:AB12", memoryBytes: 1)], timestampMs: 1)
        guard case .apply = state.decide(assignment) else { Issue.record("prefixed digest refused"); return }
    }

    @Test func ignoresOlderEpochsAndClearsOnEmpty() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        Self.applyAll(&state, state.decide(Self.assignment(5, [("a", 10)])))
        guard case .ignore = state.decide(Self.assignment(4, [("b", 10)])) else { Issue.record("older epoch not ignored"); return }
        #expect(Array(state.hosted.keys) == ["a"])
        // The same epoch again (a retained re-delivery) changes nothing.
        guard case .apply(let same) = state.decide(Self.assignment(5, [("a", 10)])) else { Issue.record("same epoch not applied"); return }
        #expect(same.load.isEmpty && same.unload.isEmpty)
        let cleared = state.decide(nil)
        guard case .apply(let change) = cleared else { Issue.record("clear not applied"); return }
        #expect(change.unload == ["a"])
        #expect(state.report == nil)
    }

    @Test func failedLoadIsReportedAsRefused() {
        var state = HostingState(device: "box-1", budgetBytes: 100, catalogDigests: Self.digests)
        guard case .apply(let change) = state.decide(Self.assignment(1, [("a", 10)])) else { Issue.record("expected apply"); return }
        state.finish(change, failure: "loading module 'a' failed")
        #expect(state.report == .init(epoch: 1, status: .refused, reason: "loading module 'a' failed"))
    }
}
