import Foundation
import Testing

@testable import S2M3Core

/// Sample messages shared by the message tests.
enum MessageSamples {
    static let state = DeviceState(device: "box-1", status: .online, session: "5f0c2a", timestampMs: 1_767_225_600_000)

    static let capabilities = DeviceCapabilities(
        device: "box-1", session: "5f0c2a", memoryBudgetBytes: 600_000_000, baseMemoryBytes: 90_000_000, computeGflops: 41.5, cores: 2,
        sensors: [.init(id: "cam0", kind: .camera), .init(id: "mic0", kind: .microphone)],
        limits: .init(maxModules: 8, queueCapacity: 16, inferenceThreads: 1), softwareVersion: "0.1.0",
        timestampMs: 1_767_225_600_100)

    static let telemetry = DeviceTelemetry(
        device: "box-1", timestampMs: 1_767_225_601_000, queueDepth: 2, queueCapacity: 16, residentMemoryBytes: 412_000_000,
        loadedModules: ["effnet-lite0-trunk", "minilm-l6"],
        modules: ["effnet-lite0-trunk": .init(p50Ms: 14.2, count: 310), "minilm-l6": .init(p50Ms: 4.1, count: 122)],
        assignment: .init(epoch: 3, status: .applied), memoryBudgetBytes: 600_000_000, peakResidentMemoryBytes: 450_000_000)

    static let assignment = DeviceAssignment(
        epoch: 3, device: "box-1",
        modules: [.init(module: "effnet-lite0-trunk", digest: "sha256:9a1f", memoryBytes: 30_000_000)],
        timestampMs: 1_767_225_600_500)

    static let plan = PlanMessage(
        epoch: 3, createdAtMs: 1_767_225_600_400, algorithm: "exact", devices: ["box-1", "box-2"],
        placement: ["effnet-lite0-trunk": ["box-1"], "minilm-l6": ["box-2", "box-1"], "cosine-match": ["box-2"]],
        routes: ["match-image-text": ["image": ["box-1"], "text": ["box-2", "box-1"], "match": ["box-2"]]],
        predictedLatencyMs: ["match-image-text": 21.5], objectiveMs: 21.5, provenOptimal: true, previousEpoch: 2,
        moves: [.init(module: "minilm-l6", device: "box-1", action: .load), .init(module: "imagenet-head", device: "box-2", action: .unload)])
}

@Suite("Messages: control plane")
struct MessagesControlPlaneTests {
    /// The error decoding `json` as `type` throws, or nil.
    static func error<M: ControlMessage>(_ type: M.Type, _ json: String) -> MessageError? {
        do {
            _ = try M(json: Data(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    /// `message` as a mutable JSON object, to break one field at a time.
    static func object<M: ControlMessage>(_ message: M) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: message.jsonData()) as? [String: Any])
    }

    static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func roundTrips() throws {
        #expect(try DeviceState(json: MessageSamples.state.jsonData()) == MessageSamples.state)
        #expect(try DeviceCapabilities(json: MessageSamples.capabilities.jsonBytes()) == MessageSamples.capabilities)
        #expect(try DeviceTelemetry(json: MessageSamples.telemetry.jsonData()) == MessageSamples.telemetry)
        #expect(try DeviceAssignment(json: MessageSamples.assignment.jsonData()) == MessageSamples.assignment)
        #expect(try PlanMessage(json: MessageSamples.plan.jsonData(pretty: true)) == MessageSamples.plan)
    }

    /// The planner places on a device what its budget leaves after the agent's own footprint.
    @Test func capabilitiesLeaveTheBudgetLessTheBaseForModules() throws {
        #expect(MessageSamples.capabilities.moduleMemoryBytes == 510_000_000)
        var withoutBase = MessageSamples.capabilities
        withoutBase.baseMemoryBytes = nil
        #expect(withoutBase.moduleMemoryBytes == 600_000_000)
        let decoded = try DeviceTelemetry(json: try MessageSamples.telemetry.jsonData())
        #expect(decoded.memoryBudgetBytes == 600_000_000 && decoded.peakResidentMemoryBytes == 450_000_000)
    }

    @Test func lastWillIsTheOfflineStateOfTheSameSession() throws {
        let will = DeviceState.lastWill(device: "box-1", session: "5f0c2a", timestampMs: 5)
        #expect(will.status == .offline && will.session == MessageSamples.state.session && will.reason == "last-will")
        #expect(try DeviceState(json: will.jsonData()) == will)
    }

    @Test func encodingIsDeterministicAndCarriesTheSchema() throws {
        let first = try MessageSamples.plan.jsonData()
        #expect(try MessageSamples.plan.jsonData() == first)
        let object = try Self.object(MessageSamples.plan)
        #expect(object["schema"] as? String == "s2m3.plan/1")
        #expect(!String(decoding: first, as: UTF8.self).contains("\\/"))
    }

    @Test func unknownFieldsAreIgnored() throws {
        var object = try Self.object(MessageSamples.state)
        object["addedInAMinorRevision"] = 42
        #expect(try DeviceState(json: Data(Self.text(object).utf8)) == MessageSamples.state)
    }

    @Test func schemaIsChecked() throws {
        let missing = Self.error(DeviceState.self, #"{"device":"a","status":"online","session":"s","timestampMs":1}"#)
        #expect(missing?.code == .missingField && missing?.field == "schema")
        let wrong = Self.error(DeviceState.self, try String(decoding: MessageSamples.telemetry.jsonData(), as: UTF8.self))
        #expect(wrong?.code == .wrongSchema)
        #expect(wrong?.message.contains("s2m3.device-telemetry/1") == true)
        var object = try Self.object(MessageSamples.state)
        object["schema"] = "s2m3.device-state/2"
        let version = Self.error(DeviceState.self, try Self.text(object))
        #expect(version?.code == .unsupportedVersion && version?.schema == "s2m3.device-state/1")
        #expect(Self.error(DeviceState.self, #"{"schema":7}"#)?.field == "schema")
    }

    @Test func notJSONIsReported() {
        #expect(Self.error(DeviceState.self, "garbage")?.code == .notJSON)
        #expect(Self.error(DeviceState.self, "[1]")?.code == .notJSON)
        #expect(Self.error(DeviceState.self, "")?.code == .notJSON)
        let bytes: [UInt8] = [0x7B, 0xFF, 0xFE, 0x7D]
        #expect(throws: MessageError.self) { try DeviceState(json: bytes) }
    }

    /// Each case breaks one field of a valid message; the error must name that field.
    static let brokenFields: [(label: String, make: @Sendable () throws -> (MessageError?), field: String, code: MessageError.Code)] = [
        ("missing device", { var o = try object(MessageSamples.state); o["device"] = nil; return error(DeviceState.self, try text(o)) }, "device", .missingField),
        ("device with slash", { var o = try object(MessageSamples.state); o["device"] = "a/b"; return error(DeviceState.self, try text(o)) }, "device", .invalidField),
        ("unknown status", { var o = try object(MessageSamples.state); o["status"] = "zombie"; return error(DeviceState.self, try text(o)) }, "status", .invalidField),
        ("string timestamp", { var o = try object(MessageSamples.state); o["timestampMs"] = "now"; return error(DeviceState.self, try text(o)) }, "timestampMs", .invalidField),
        ("fraction timestamp", { var o = try object(MessageSamples.state); o["timestampMs"] = 1.5; return error(DeviceState.self, try text(o)) }, "timestampMs", .invalidField),
        ("zero budget", { var o = try object(MessageSamples.capabilities); o["memoryBudgetBytes"] = 0; return error(DeviceCapabilities.self, try text(o)) }, "memoryBudgetBytes", .invalidField),
        ("base fills the budget", { var o = try object(MessageSamples.capabilities); o["baseMemoryBytes"] = 600_000_000; return error(DeviceCapabilities.self, try text(o)) }, "baseMemoryBytes", .invalidField),
        ("negative base", { var o = try object(MessageSamples.capabilities); o["baseMemoryBytes"] = -1; return error(DeviceCapabilities.self, try text(o)) }, "baseMemoryBytes", .invalidField),
        ("huge base", { var o = try object(MessageSamples.capabilities); o["baseMemoryBytes"] = 1e300; return error(DeviceCapabilities.self, try text(o)) }, "baseMemoryBytes", .invalidField),
        ("peak below resident", { var o = try object(MessageSamples.telemetry); o["peakResidentMemoryBytes"] = 1; return error(DeviceTelemetry.self, try text(o)) }, "peakResidentMemoryBytes", .invalidField),
        ("peak over 1 TiB", { var o = try object(MessageSamples.telemetry); o["peakResidentMemoryBytes"] = 1 << 41; return error(DeviceTelemetry.self, try text(o)) }, "peakResidentMemoryBytes", .invalidField),
        ("peak as text", { var o = try object(MessageSamples.telemetry); o["peakResidentMemoryBytes"] = "lots"; return error(DeviceTelemetry.self, try text(o)) }, "peakResidentMemoryBytes", .invalidField),
        ("zero telemetry budget", { var o = try object(MessageSamples.telemetry); o["memoryBudgetBytes"] = 0; return error(DeviceTelemetry.self, try text(o)) }, "memoryBudgetBytes", .invalidField),
        ("negative gflops", { var o = try object(MessageSamples.capabilities); o["computeGflops"] = -1; return error(DeviceCapabilities.self, try text(o)) }, "computeGflops", .invalidField),
        ("unknown sensor kind", {
            var o = try object(MessageSamples.capabilities); o["sensors"] = [["id": "x", "kind": "radar"]]
            return error(DeviceCapabilities.self, try text(o))
        }, "sensors[0].kind", .invalidField),
        ("zero queue", {
            var o = try object(MessageSamples.capabilities); o["limits"] = ["queueCapacity": 0, "inferenceThreads": 1]
            return error(DeviceCapabilities.self, try text(o))
        }, "limits.queueCapacity", .invalidField),
        ("depth over capacity", { var o = try object(MessageSamples.telemetry); o["queueDepth"] = 17; return error(DeviceTelemetry.self, try text(o)) }, "queueDepth", .invalidField),
        ("queued by more than the queue", {
            var o = try object(MessageSamples.telemetry); o["queuedBy"] = ["agg-1": 2, "agg-2": 1]
            return error(DeviceTelemetry.self, try text(o))
        }, "queuedBy", .invalidField),
        ("queued by zero", { var o = try object(MessageSamples.telemetry); o["queuedBy"] = ["agg-1": 0]; return error(DeviceTelemetry.self, try text(o)) }, "queuedBy.agg-1", .invalidField),
        ("queued by a bad id", { var o = try object(MessageSamples.telemetry); o["queuedBy"] = ["agg/1": 1]; return error(DeviceTelemetry.self, try text(o)) }, "queuedBy.agg/1", .invalidField),
        ("queued by a huge count", { var o = try object(MessageSamples.telemetry); o["queuedBy"] = ["agg-1": 1e300]; return error(DeviceTelemetry.self, try text(o)) }, "queuedBy.agg-1", .invalidField),
        ("negative p50", {
            var o = try object(MessageSamples.telemetry); o["modules"] = ["minilm-l6": ["p50Ms": -2, "count": 1]]
            return error(DeviceTelemetry.self, try text(o))
        }, "modules.minilm-l6.p50Ms", .invalidField),
        ("missing count", {
            var o = try object(MessageSamples.telemetry); o["modules"] = ["minilm-l6": ["p50Ms": 2]]
            return error(DeviceTelemetry.self, try text(o))
        }, "modules.minilm-l6.count", .missingField),
        ("refused without reason", {
            var o = try object(MessageSamples.telemetry); o["assignment"] = ["epoch": 3, "status": "refused"]
            return error(DeviceTelemetry.self, try text(o))
        }, "assignment.reason", .invalidField),
        ("module twice", {
            var o = try object(MessageSamples.telemetry); o["loadedModules"] = ["a", "a"]
            return error(DeviceTelemetry.self, try text(o))
        }, "loadedModules[1]", .invalidField),
        ("epoch zero", { var o = try object(MessageSamples.assignment); o["epoch"] = 0; return error(DeviceAssignment.self, try text(o)) }, "epoch", .invalidField),
        ("digest with space", {
            var o = try object(MessageSamples.assignment); o["modules"] = [["module": "m", "digest": "sha256: x", "memoryBytes": 1]]
            return error(DeviceAssignment.self, try text(o))
        }, "modules[0].digest", .invalidField),
        ("fraction memory", {
            var o = try object(MessageSamples.assignment); o["modules"] = [["module": "m", "digest": "d", "memoryBytes": 1.25]]
            return error(DeviceAssignment.self, try text(o))
        }, "modules[0].memoryBytes", .invalidField),
        ("placement on unknown device", {
            var o = try object(MessageSamples.plan); o["placement"] = ["m": ["box-9"]]; o["moves"] = []
            return error(PlanMessage.self, try text(o))
        }, "placement.m[0]", .invalidField),
        ("route without devices", {
            var o = try object(MessageSamples.plan); o["routes"] = ["match-image-text": ["image": [String]()]]
            return error(PlanMessage.self, try text(o))
        }, "routes.match-image-text.image", .invalidField),
        ("route without prediction", {
            var o = try object(MessageSamples.plan); o["predictedLatencyMs"] = [String: Double]()
            return error(PlanMessage.self, try text(o))
        }, "predictedLatencyMs.match-image-text", .missingField),
        ("move contradicts placement", {
            var o = try object(MessageSamples.plan); o["moves"] = [["module": "cosine-match", "device": "box-2", "action": "unload"]]
            return error(PlanMessage.self, try text(o))
        }, "moves[0]", .invalidField),
        ("previous epoch not earlier", { var o = try object(MessageSamples.plan); o["previousEpoch"] = 3; return error(PlanMessage.self, try text(o)) }, "previousEpoch", .invalidField),
        ("null objective", { var o = try object(MessageSamples.plan); o["objectiveMs"] = NSNull(); return error(PlanMessage.self, try text(o)) }, "objectiveMs", .invalidField),
    ]

    @Test(arguments: brokenFields.indices)
    func errorNamesTheBrokenField(_ index: Int) throws {
        let case_ = Self.brokenFields[index]
        let error = try #require(try case_.make(), "\(case_.label) decoded")
        #expect(error.field == case_.field, "\(case_.label): \(error)")
        #expect(error.code == case_.code, "\(case_.label): \(error)")
        #expect(error.description.contains(case_.field))
    }

    @Test func unknownEnumValueListsTheAllowedOnes() throws {
        var object = try Self.object(MessageSamples.state)
        object["status"] = "zombie"
        let error = try #require(Self.error(DeviceState.self, try Self.text(object)))
        #expect(error.message.contains("online, offline"))
    }

    @Test func publishPropertiesFollowTopicsDocument() {
        #expect(MessageSamples.state.properties() == MessageProperties(contentType: "application/json"))
        #expect(MessageSamples.telemetry.properties().messageExpirySeconds == 10)
        #expect(MessageSamples.plan.properties().userProperty("s2m3-epoch") == "3")
        #expect(MessageSamples.assignment.properties().userProperty("s2m3-epoch") == "3")
    }

    @Test func encodingRefusesAnInvalidMessage() {
        var state = MessageSamples.state
        state.device = "has space"
        #expect(throws: MessageError.self) { try state.jsonData() }
        var plan = MessageSamples.plan
        plan.objectiveMs = .nan
        #expect(throws: MessageError.self) { try plan.jsonData() }
    }
}
