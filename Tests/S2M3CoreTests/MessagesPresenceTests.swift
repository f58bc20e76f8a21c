import Foundation
import Testing

@testable import S2M3Core

/// The presence messages of planners and aggregators: round trips and strict decoding.
@Suite("Messages: service presence and telemetry")
struct MessagesPresenceTests {
    @Test func roundTrip() throws {
        let state = ServiceState(role: .aggregator, id: "agg-1", status: .offline, session: "9c1d", timestampMs: 1_767_225_600_000, reason: "last-will")
        #expect(try ServiceState(json: state.jsonData()) == state)
        let aggregator = AggregatorTelemetry(
            aggregator: "agg-1", timestampMs: 1, epoch: nil, inFlight: 0, requestsPerSecond: 0, rateWindowMs: 10_000, windowMs: 60_000,
            requests: 0, results: 0, errors: [:])
        #expect(try AggregatorTelemetry(json: aggregator.jsonData()) == aggregator)
        let planner = PlannerTelemetry(planner: "planner", timestampMs: 1, epoch: 2, liveDevices: ["a"], replans: 1, lastSolveMs: 0.5, lastPlanAtMs: 1)
        #expect(try PlannerTelemetry(json: planner.jsonData()) == planner)
        #expect(aggregator.properties().messageExpirySeconds == 10 && planner.properties().messageExpirySeconds == 10)
    }

    @Test(arguments: [
        (#"{"schema":"s2m3.service-state/1","role":"planner","id":"p","status":"online","session":"s","timestampMs":-1}"#, "timestampMs"),
        (#"{"schema":"s2m3.service-state/1","role":"device","id":"p","status":"online","session":"s","timestampMs":1}"#, "role"),
        (#"{"schema":"s2m3.service-state/1","role":"planner","id":"a/b","status":"online","session":"s","timestampMs":1}"#, "id"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":-1,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{}}"#, "requestsPerSecond"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{"x":-3}}"#, "errors.x"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"epoch":0,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{}}"#, "epoch"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"tasks":{"t":{"p50Ms":-1,"count":1}}}"#, "tasks.t.p50Ms"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"tasks":{"a/b":{"p50Ms":1,"count":1}}}"#, "tasks.a/b"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"transfer":{"p50Ms":1e300,"count":1}}"#, "transfer.p50Ms"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"transfer":{"p50Ms":1,"count":-2}}"#, "transfer.count"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"taskRates":{"t":-1}}"#, "taskRates.t"),
        (#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"a","timestampMs":1,"inFlight":0,"requestsPerSecond":0,"rateWindowMs":1,"windowMs":1,"requests":0,"results":0,"errors":{},"taskRates":{"t":1e300}}"#, "taskRates.t"),
        (#"{"schema":"s2m3.planner-telemetry/1","planner":"p","timestampMs":1,"liveDevices":["a","a"],"replans":0}"#, "liveDevices[1]"),
        (#"{"schema":"s2m3.planner-telemetry/1","planner":"p","timestampMs":1,"liveDevices":[],"replans":0,"lastSolveMs":-5}"#, "lastSolveMs"),
    ])
    func refusedNamingTheField(json: String, field: String) {
        let decode: (Data) throws(MessageError) -> Void = { data throws(MessageError) in
            if json.contains("service-state") {
                _ = try ServiceState(json: data)
            } else if json.contains("aggregator-telemetry") {
                _ = try AggregatorTelemetry(json: data)
            } else {
                _ = try PlannerTelemetry(json: data)
            }
        }
        do {
            try decode(Data(json.utf8))
            Issue.record("decoded: \(json)")
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }
}
