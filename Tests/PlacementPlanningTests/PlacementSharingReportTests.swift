import Testing

@testable import PlacementPlanning
import S2M3Core

@Suite("Placement sharing report")
struct PlacementSharingReportTests {
    /// Models X = {a 100, b 50} and Y = {a 100, c 30, d 20} share module a; t1 runs a once for both.
    @Test func handComputedSavings() {
        let module = { (id: String, memory: Int) in PlacementModule(id: id, memoryBytes: memory, gflop: 1, outputBytes: 1) }
        let instance = PlacementInstance(
            devices: [PlacementFixtures.device("d")],
            modules: [module("a", 100), module("b", 50), module("c", 30), module("d", 20)],
            tasks: [
                PlacementTask(
                    id: "t1", rate: 1,
                    graph: TaskGraph(
                        inputs: [.init(id: "in")],
                        nodes: [
                            TaskNode(id: "shared", module: "a", inputs: ["in"], models: ["X", "Y"]),
                            TaskNode(id: "head", module: "c", inputs: ["shared"], models: ["Y"]),
                        ])),
                PlacementTask(
                    id: "t2", rate: 1,
                    graph: TaskGraph(inputs: [.init(id: "in")], nodes: [TaskNode(id: "n", module: "b", inputs: ["in"], models: ["X"])])),
            ],
            models: [PlacementModel(id: "X", modules: ["a", "b"]), PlacementModel(id: "Y", modules: ["a", "c", "d"])])
        let report = PlacementSharingReport(instance)
        let t1 = report.tasks[0]
        #expect((t1.monolithicBytes, t1.splitBytes, t1.sharedBytes) == (300, 230, 130))
        #expect(t1.models == ["X", "Y"])
        #expect(abs(t1.savedBySharing - (1 - 130.0 / 230)) < 1e-12)
        #expect(abs(t1.savedInTotal - (1 - 130.0 / 300)) < 1e-12)
        let t2 = report.tasks[1]
        #expect((t2.monolithicBytes, t2.splitBytes, t2.sharedBytes) == (150, 50, 50))
        #expect(t2.savedBySharing == 0)
        #expect((report.allTasks.monolithicBytes, report.allTasks.splitBytes, report.allTasks.sharedBytes) == (300, 280, 180))
        let separately = report.allTasksSeparately
        #expect((separately.monolithicBytes, separately.splitBytes, separately.sharedBytes) == (450, 280, 180))
        #expect(report.markdown().contains("| t1 | X, Y | 300 B | 230 B | 130 B | 43.5 % | 56.7 % |"))
    }
}
