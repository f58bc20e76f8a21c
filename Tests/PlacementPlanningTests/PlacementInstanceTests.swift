import Foundation
import Testing

import PlacementGenerators
@testable import PlacementPlanning
import S2M3Core

/// Decoding and validating instance JSON: every bad input gets its own clear error.
@Suite("Placement instance JSON")
struct PlacementInstanceTests {
    static let valid = """
        {
          "devices": [ { "id": "d1", "memoryBytes": 1000000000, "gflops": 100,
                         "link": { "bandwidthMbps": 1000, "latencyMs": 1 } } ],
          "modules": [ { "id": "enc", "memoryBytes": 1000, "gflop": 1, "outputBytes": 10 },
                       { "id": "head", "parameters": 500, "bytesPerParameter": 2, "gflop": 0.1, "outputBytes": 4 } ],
          "tasks": [ { "id": "t", "rate": 2, "priority": 3, "inputs": [ { "id": "image", "bytes": 100 } ],
                       "nodes": [ { "id": "a", "module": "enc", "inputs": ["image"], "models": ["m"] },
                                  { "id": "b", "module": "head", "inputs": ["a"] } ] } ],
          "models": [ { "id": "m", "modules": ["enc", "head"] } ]
        }
        """

    private func decode(_ text: String) throws -> PlacementInstance {
        try PlacementInstance(json: Data(text.utf8))
    }

    /// The valid document with `old` replaced by `new` (fails the test if `old` is absent).
    private func variant(_ old: String, _ new: String) -> String {
        #expect(Self.valid.contains(old), "fixture does not contain \(old)")
        return Self.valid.replacingOccurrences(of: old, with: new)
    }

    private func expectError(_ text: String, _ code: PlacementError.Code, mentioning words: [String]) {
        #expect {
            try decode(text)
        } throws: { error in
            guard let error = error as? PlacementError else { return false }
            return error.code == code && words.allSatisfy { error.message.contains($0) }
        }
    }

    @Test func decodesEveryField() throws {
        let instance = try decode(Self.valid)
        #expect(instance.devices == [PlacementFixtures.device("d1", memory: 1_000_000_000, gflops: 100, mbps: 1000, ms: 1)])
        #expect(instance.modules[1].memoryBytes == 1000)  // 500 parameters × 2 bytes
        #expect(instance.modules[1].parameters == 500)
        #expect(instance.tasks[0].weight == 6)
        #expect(instance.tasks[0].graph.inputs == [TaskGraph.Input(id: "image", bytes: 100)])
        #expect(instance.tasks[0].graph.nodes[0].models == ["m"])
        #expect(instance.models == [PlacementModel(id: "m", modules: ["enc", "head"])])
    }

    @Test func roundTripsThroughItsOwnJSON() throws {
        let instance = try decode(Self.valid)
        #expect(try PlacementInstance(json: instance.jsonData()) == instance)
        let random = RandomPlacementInstances.paperScale.generate(seed: 42)
        #expect(try PlacementInstance(json: random.jsonData()) == random)
    }

    @Test func malformedJSON() {
        expectError("{ \"devices\": [", .malformedInstance, mentioning: ["not valid JSON"])
        expectError("[]", .malformedInstance, mentioning: [])
    }

    @Test func wrongTypeNamesThePath() {
        expectError(variant("\"gflops\": 100", "\"gflops\": \"fast\""), .malformedInstance, mentioning: ["devices[0].gflops"])
    }

    @Test func missingFields() {
        expectError(variant("\"memoryBytes\": 1000000000, ", ""), .missingField, mentioning: ["devices[0] ('d1').memoryBytes"])
        expectError(variant("\"memoryBytes\": 1000, ", ""), .missingField, mentioning: ["modules[0] ('enc').memoryBytes"])
        expectError(variant("\"bytesPerParameter\": 2, ", ""), .missingField, mentioning: ["bytesPerParameter"])
        expectError(variant("\"outputBytes\": 10", "\"x\": 1"), .missingField, mentioning: ["outputBytes"])
        expectError(variant("\"rate\": 2, ", ""), .missingField, mentioning: ["tasks[0] ('t').rate"])
        expectError(variant("\"module\": \"head\", ", ""), .missingField, mentioning: ["module"])
    }

    @Test func negativeOrInvalidSizes() {
        expectError(variant("\"memoryBytes\": 1000,", "\"memoryBytes\": -1000,"), .invalidValue, mentioning: ["memoryBytes", "-1000"])
        expectError(variant("\"memoryBytes\": 1000,", "\"memoryBytes\": 10.5,"), .invalidValue, mentioning: ["whole number"])
        expectError(variant("\"outputBytes\": 10", "\"outputBytes\": -10"), .invalidValue, mentioning: ["outputBytes"])
        expectError(variant("\"gflop\": 1,", "\"gflop\": -1,"), .invalidValue, mentioning: ["module 'enc'", "gflop"])
        expectError(variant("\"gflops\": 100", "\"gflops\": 0"), .invalidValue, mentioning: ["device 'd1'", "gflops"])
        expectError(variant("\"bandwidthMbps\": 1000", "\"bandwidthMbps\": -5"), .invalidValue, mentioning: ["bandwidthMbps"])
        expectError(variant("\"rate\": 2", "\"rate\": -2"), .invalidValue, mentioning: ["task 't'", "rate"])
        expectError(variant("\"bytes\": 100", "\"bytes\": -100"), .invalidValue, mentioning: ["bytes"])
    }

    @Test func cycleInATaskGraph() {
        expectError(variant("\"inputs\": [\"image\"], \"models\"", "\"inputs\": [\"b\"], \"models\""), .invalidTaskGraph, mentioning: ["task 't'", "cycle", "a → b → a"])
    }

    @Test func unknownIDs() {
        expectError(variant("\"module\": \"head\"", "\"module\": \"nope\""), .unknownModule, mentioning: ["'nope'", "node 'b'"])
        expectError(variant("\"modules\": [\"enc\", \"head\"]", "\"modules\": [\"enc\", \"ghost\"]"), .unknownModule, mentioning: ["model 'm'", "'ghost'"])
        expectError(variant("\"inputs\": [\"a\"]", "\"inputs\": [\"z\"]"), .invalidTaskGraph, mentioning: ["'z'"])
    }

    @Test func duplicateAndEmpty() {
        expectError(variant("\"id\": \"head\"", "\"id\": \"enc\""), .duplicateID, mentioning: ["module id 'enc'"])
        expectError(
            #"{ "devices": [], "modules": [], "tasks": [ { "id": "t", "rate": 1, "nodes": [] } ] }"#, .emptyInstance,
            mentioning: ["no devices"])
        expectError(
            #"{ "devices": [ { "id": "d", "memoryBytes": 1, "gflops": 1, "link": { "bandwidthMbps": 1, "latencyMs": 0 } } ], "modules": [], "tasks": [] }"#,
            .emptyInstance, mentioning: ["no tasks"])
    }
}
