import Catalog
import Foundation
import LocalBroker
import MQTTBus
import Planner
import S2M3Core
import TestSupport
import Testing

/// `s2m3 planner --catalog` as a real process on a real broker, with announced devices: it plans
/// the default catalog's modules with their measured memory, and the assignments carry the
/// catalog's digests. With too little memory for everything, the plan serves what fits and names
/// the other tasks in `unavailableTasks`.
@Suite("Planner from the catalog, as a process")
struct CatalogPlannerProcessTests {
    static var models: String { TestPaths.cache.appendingPathComponent("models").path }
    static var catalogPath: String { TestPaths.repository.appendingPathComponent("catalog/default.json").path }

    /// Runs the planner and announcers with the given budgets (and 150 GFLOP/s, about what the
    /// device agents' calibration measures on a development machine, the scale of the catalog's
    /// measured GFLOP); returns the first plan naming them all
    /// and every device's assignment for it.
    func plan(budgets: [String: Int]) async throws -> (PlanMessage, [String: DeviceAssignment]) {
        let executable = try TestPaths.s2m3Executable
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf"))
        return try await MosquittoProcess.withRunning(configuration) { broker in
            let topics = Topics(root: "catalog-planner-\(getpid())/v1")
            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            let watcher = MQTTConnection(
                configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "watch-\(getpid())"), logger: PlannerServiceTests.logger)
            try await watcher.connect()
            let inbox = watcher.messages
            try await watcher.subscribe(topics.plan)
            try await watcher.subscribe(topics.root + "/devices/+/assignment")
            var children: [ChildProcess] = []
            defer { for child in children where !child.hasExited { child.send(SIGKILL) } }
            children.append(try ChildProcess.spawn(executable, [
                "planner", "--broker", endpoint.description, "--root", topics.root,
                "--catalog", Self.catalogPath, "--models", Self.models,
            ], stderr: .null))
            for (id, memory) in budgets.sorted(by: { $0.key < $1.key }) {
                children.append(try ChildProcess.spawn(executable, [
                    "device-announce", "--broker", endpoint.description, "--root", topics.root,
                    "--id", id, "--memory", String(memory), "--gflops", "150",
                ], stdout: .null))
            }
            let result = try await within(.seconds(300), "a plan for \(budgets.keys.sorted()) and its assignments") {
                var plan: PlanMessage?
                var assignments: [String: DeviceAssignment] = [:]
                for await message in inbox where !message.payload.isEmpty {
                    if message.topic == topics.plan, let candidate = try? PlanMessage(json: message.payload),
                       Set(candidate.devices) == Set(budgets.keys) {
                        plan = candidate
                    } else if let assignment = try? DeviceAssignment(json: message.payload) {
                        assignments[assignment.device] = assignment
                    }
                    if let plan, budgets.keys.allSatisfy({ assignments[$0]?.epoch == plan.epoch }) { return (plan, assignments) }
                }
                throw TimedOut(what: "the watcher's messages ended")
            }
            await watcher.disconnect()
            return result
        }
    }

    @Test func plansTheCatalogWithItsDigestsOnThreeDevices() async throws {
        let catalog = try ModuleCatalog.load(path: Self.catalogPath, modelsDirectory: Self.models)
        // 3 × 1 GiB: module figures include their working sets (about 1.6 GiB in all), so no device holds every module.
        let (plan, assignments) = try await plan(budgets: ["box-1": 1 << 30, "box-2": 1 << 30, "box-3": 1 << 30])
        try plan.validate()
        #expect(plan.unavailableTasks == nil)
        #expect(Set(plan.routes.keys) == Set(catalog.tasks.map(\.id)))
        for (device, assignment) in assignments {
            #expect(assignment.modules.count < plan.placement.count, "\(device) holds every module")
            #expect(assignment.modules.reduce(0) { $0 + $1.memoryBytes } <= 1 << 30)
            for hosted in assignment.modules {
                #expect(hosted.digest == catalog.module(hosted.module)?.digest, "\(hosted.module) digest")
            }
        }
        let decoder = try #require(assignments.values.flatMap(\.modules).first { $0.module == "whisper-tiny-decoder" })
        #expect(decoder.memoryBytes > 100 << 20, "the Whisper decoder's measured memory")
        // The OCR detector counts its working set on the largest page (hundreds of MiB), not its 15 MiB of weights.
        let detector = try #require(assignments.values.flatMap(\.modules).first { $0.module == "ocr-detect" })
        #expect(detector.memoryBytes > 200 << 20, "the OCR detector's measured memory")
    }

    @Test func tooLittleMemoryServesWhatFitsAndNamesTheRest() async throws {
        // 2 × 600 MiB: the OCR detector (~740 MiB at its largest page) fits nowhere; every other
        // module (about 850 MiB, none over 260 MiB) does.
        let (plan, _) = try await plan(budgets: ["box-1": 600 << 20, "box-2": 600 << 20])
        try plan.validate()
        let unavailable = try #require(plan.unavailableTasks)
        #expect(Set(unavailable.keys) == ["read-text"])
        #expect(unavailable["read-text"]?.contains("ocr-detect") == true)
        for task in ["classify-image", "match-image-text", "transcribe", "voice-command", "describe-scene"] {
            #expect(plan.routes[task] != nil, "\(task)")
        }
    }
}
