import Logging
import ServiceLifecycle
import ServiceSupport
import Testing

@Suite("Service support")
struct ServiceSupportTests {
    struct Failure: Error {}

    @Test("a service whose work is done ends the process's services without an error", .timeLimit(.minutes(1)))
    func finishedServiceEndsCleanly() async throws {
        let other = IdleSignal()
        other.update(idle: false)
        // The second service runs until graceful shutdown, which the first one's end triggers.
        let waiting = TaskService {
            try? await gracefulShutdown()
            other.update(idle: true)
        }
        try await ProcessServices.run([TaskService {}, waiting], logger: Logger(label: "test"))
        #expect(other.isIdle, "the other service was shut down gracefully, not cancelled before it could finish")
    }

    @Test("a failing service's error is thrown", .timeLimit(.minutes(1)))
    func failingServiceThrows() async throws {
        await #expect(throws: (any Error).self) {
            try await ProcessServices.run([TaskService { throw Failure() }], logger: Logger(label: "test"))
        }
    }

    @Test("IdleSignal: a waiter wakes when the service becomes idle, and a timeout ends a wait", .timeLimit(.minutes(1)))
    func idleSignal() async throws {
        let signal = IdleSignal()
        #expect(await signal.wait(timeout: .seconds(5)), "idle at once")
        signal.update(idle: false)
        let start = ContinuousClock.now
        #expect(!(await signal.wait(timeout: .milliseconds(50))), "still busy after the timeout")
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        async let woken = signal.wait(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(20))
        signal.update(idle: true)
        #expect(await woken, "woken by the update, long before the timeout")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("IdleSignal: a waiter for work wakes when the service becomes busy, not when it stays idle", .timeLimit(.minutes(1)))
    func busySignal() async throws {
        let signal = IdleSignal()
        let start = ContinuousClock.now
        await signal.waitUntilBusy(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50), "idle: the wait lasts its timeout")
        async let woken: Void = signal.waitUntilBusy(timeout: .seconds(30))
        async let idleWaiter = signal.wait(timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(20))
        signal.update(idle: true)  // stays idle: wakes neither the busy waiter nor (already idle) anything else
        signal.update(idle: false)
        await woken
        #expect(ContinuousClock.now - start < .seconds(10), "woken by becoming busy, long before the timeout")
        #expect(await idleWaiter, "the idle waiter returned at once")
        let again = ContinuousClock.now
        await signal.waitUntilBusy(timeout: .seconds(30))
        #expect(ContinuousClock.now - again < .seconds(1), "busy: returns at once")
    }

    @Test("InFlight counts tracked work and drains when it ends", .timeLimit(.minutes(1)))
    func inFlight() async throws {
        let work = InFlight()
        let gate = IdleSignal()
        gate.update(idle: false)
        async let tracked: Void = work.track { await gate.waitUntilIdle() }
        while work.current == 0 { await Task.yield() }
        #expect(work.current == 1)
        #expect(!(await work.drained(timeout: .milliseconds(30))))
        gate.update(idle: true)
        await tracked
        #expect(await work.drained(timeout: .seconds(5)))
        #expect(work.current == 0)
    }

    @Test("runOffPool returns the work's value and rethrows its error")
    func offPool() async throws {
        #expect(await runOffPool { 6 * 7 } == 42)
        await #expect(throws: Failure.self) { try await runOffPool { () throws(Failure) -> Int in throw Failure() } }
    }
}
