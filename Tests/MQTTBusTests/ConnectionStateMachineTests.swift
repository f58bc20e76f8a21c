import Testing

@testable import MQTTBus

/// The reconnect logic without a broker: endpoints in turn, back-off, timeouts.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    let t0 = ContinuousClock.now

    func machine(endpoints: Int = 2) -> ConnectionStateMachine {
        ConnectionStateMachine(
            endpointCount: endpoints,
            reconnectDelay: .milliseconds(200),
            reconnectDelayMax: .seconds(1),
            connectTimeout: .seconds(5)
        )
    }

    @Test func firstConnectTriesEachEndpointOnceThenFails() {
        var m = machine(endpoints: 3)
        #expect(m.nextStep(now: t0) == .exit)  // idle
        m.start(now: t0)
        #expect(m.nextStep(now: t0) == .connect(endpoint: 0))
        #expect(m.attemptFailed(now: t0) == .none)
        #expect(m.nextStep(now: t0) == .connect(endpoint: 1))
        #expect(m.attemptFailed(now: t0) == .none)
        #expect(m.nextStep(now: t0) == .connect(endpoint: 2))
        #expect(m.attemptFailed(now: t0) == .startFailed)
        #expect(m.state == .idle)
        #expect(m.nextStep(now: t0) == .exit)
        m.start(now: t0)  // connect() may be called again
        #expect(m.nextStep(now: t0) == .connect(endpoint: 0))
    }

    @Test func attemptTimesOutAtDeadline() {
        var m = machine()
        m.start(now: t0)
        _ = m.nextStep(now: t0)
        #expect(!m.attemptTimedOut(now: t0 + .seconds(4)))
        #expect(m.nextStep(now: t0 + .seconds(4)) == .loop(timeout: .milliseconds(100)))
        #expect(m.attemptTimedOut(now: t0 + .seconds(5)))
    }

    @Test func lossRetriesSameEndpointThenRotatesWithCappedBackoff() {
        var m = machine()
        m.start(now: t0)
        _ = m.nextStep(now: t0)
        #expect(m.connackAccepted() == .connected(endpoint: 0, first: true))
        #expect(m.nextStep(now: t0) == .loop(timeout: .seconds(1)))

        #expect(m.connectionLost(now: t0) == .lost)
        #expect(m.nextStep(now: t0) == .sleep(.milliseconds(200)))
        let t1 = t0 + .milliseconds(200)
        #expect(m.nextStep(now: t1) == .connect(endpoint: 0))

        // Failures: next endpoint each time, delay 200 ms, 400, 800, then capped at 1 s.
        var now = t1
        var expected: [Duration] = [.milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)]
        var endpoint = 0
        while !expected.isEmpty {
            let delay = expected.removeFirst()
            _ = m.attemptFailed(now: now)
            endpoint = (endpoint + 1) % 2
            #expect(m.nextStep(now: now) == .sleep(delay))
            now = now + delay
            #expect(m.nextStep(now: now) == .connect(endpoint: endpoint))
        }
        #expect(m.connackAccepted() == .connected(endpoint: endpoint, first: false))
        #expect(m.consecutiveFailures == 0)
    }

    @Test func stopEndsEverything() {
        var m = machine()
        m.start(now: t0)
        _ = m.nextStep(now: t0)
        _ = m.connackAccepted()
        m.stop()
        #expect(m.nextStep(now: t0) == .exit)
        #expect(m.connectionLost(now: t0) == .none)
        #expect(m.connackAccepted() == .none)
    }
}
