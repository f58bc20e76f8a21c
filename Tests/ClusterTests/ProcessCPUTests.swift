import Foundation
import LocalCluster
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The CPU accounting of `s2m3 bench cluster`'s throughput runs: `/proc` lines read right, and a
/// busy process's time counted under its role.
@Suite("Process CPU")
struct ProcessCPUTests {
    let hz = ProcessCPU.ticksPerSecond

    @Test func readsUserAndSystemTimeAfterTheCommandName() throws {
        // A command name with spaces and parentheses must not shift the fields.
        let line = "4242 (s2m3 (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
        let seconds = try #require(ProcessCPU.seconds(stat: line))
        #expect(abs(seconds - 300 / hz) < 1e-9)
        #expect(ProcessCPU.seconds(stat: "4242 (short) S 1 2") == nil)
        #expect(ProcessCPU.seconds(stat: "no parenthesis at all") == nil)
    }

    @Test func machineBusyLeavesOutIdleAndIOWait() throws {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let stat = "cpu  100 20 30 5000 400 6 7 8 50 0\ncpu0 50 10 15 2500 200 3 3 4 25 0\n"
        let busy = try #require(ProcessCPU.machineBusySeconds(stat: stat))
        #expect(abs(busy - Double(100 + 20 + 30 + 6 + 7 + 8) / hz) < 1e-9)
        #expect(ProcessCPU.machineBusySeconds(stat: "intr 1 2 3\n") == nil)
        #expect(ProcessCPU.machineBusySeconds(stat: "cpu  1 2 3\n") == nil)
    }

    @Test func countsThisProcessesBusyTimeUnderItsRole() throws {
        let cpu = ProcessCPU(roles: [("client", [getpid()]), ("gone", [Int32.max])])
        let before = cpu.read()
        // About 0.3 s of CPU on this thread: several clock ticks at any usual tick rate.
        let start = ContinuousClock.now
        var sink: UInt64 = 1
        while ContinuousClock.now - start < .milliseconds(300) { sink = sink &* 6364136223846793005 &+ 1 }
        #expect(sink != 0)
        let usage = ProcessCPU.usage(from: before, to: cpu.read())
        let client = try #require(usage.byRole["client"])
        #expect(client >= 0.15, "0.3 s spinning counted as \(client) s")
        #expect(client <= usage.wallSeconds * Double(ProcessInfo.processInfo.activeProcessorCount) + 0.05)
        #expect(usage.byRole["gone"] == 0, "a process that does not exist counts nothing")
        #expect(usage.machineBusy >= client - 0.05, "the machine was at least as busy as this process")
        #expect(usage.wallSeconds >= 0.3)
    }
}
