import Catalog
import PlacementPlanning
import S2M3Core

/// The placement problem a module catalog poses: one ``PlacementModule`` per distinct module (by
/// digest, named by its ``ModuleCatalog/sharedID``) with its measured memory and compute, and each
/// catalog task as a ``PlacementTask`` whose nodes invoke those shared ids. Pure: costs come in.
///
/// The instance has one placeholder device (`reference`, holding everything); a planner replaces
/// the devices by the live ones. Every task has the same rate (``defaultRate``) and priority 1.
/// Transfers are ``PlacementTransfers/direct``: a device runs a chain of nodes it hosts itself
/// (the aggregator's co-located chains), so an output between two of its nodes does not cross its link.
public struct CatalogPlacement: Sendable, Hashable {
    public let instance: PlacementInstance
    /// Placement module id → the catalog digest a device must check when loading it.
    public let digests: [String: String]

    /// Link assumed for every device of a local cluster (loopback through the broker): 4,000 Mbit/s
    /// is what one 1 MB message publish → subscribe takes on loopback (about 2.1 ms p50, `s2m3 bench
    /// bus`, docs/benchmarks.md); the latency is learned from telemetry once requests run.
    public static let localLink = PlacementLink(bandwidthMbps: 4000, latencyMs: 0.2)

    /// Wire size assumed for a task input, by its conventional name (the cost model's first transfer).
    public static func inputBytes(_ name: String) -> Int {
        switch name {
        case "image": 150_000  // a phone-size JPEG
        case "audio": 320_000  // 10 s of 16 kHz 16-bit mono WAV
        default: 1_000  // text, candidate texts, commands
        }
    }

    /// Requests per second assumed for every task: the weights in the objective are equal, and the
    /// load a rate puts on a device (which must stay below saturation) is that of a light
    /// interactive use, one request of each task every 20 s. Higher rates make the plan depend on
    /// noisy speed figures: a device measured slow under a busy start-up can look saturated.
    public static let defaultRate = 0.05

    /// - Parameter costs: by shared module id; ids missing count as ``ModuleCost/builtin``.
    public init(
        catalog: ModuleCatalog, costs: [String: ModuleCost], rate: Double = Self.defaultRate, link: PlacementLink = Self.localLink
    ) {
        func shared(_ id: String) -> String { catalog.sharedID[id] ?? id }
        var modules: [PlacementModule] = []
        var digests: [String: String] = [:]
        for manifest in catalog.modules where shared(manifest.id) == manifest.id {
            let cost = costs[manifest.id] ?? .builtin
            modules.append(PlacementModule(
                id: manifest.id, memoryBytes: cost.residentBytes, gflop: cost.gflop,
                outputBytes: Self.outputBytes(manifest.callOutputs), description: manifest.interface))
            digests[manifest.id] = manifest.digest
        }
        let tasks = catalog.tasks.map { task in
            PlacementTask(id: task.id, rate: rate, graph: TaskGraph(
                inputs: task.graph.inputs.map { TaskGraph.Input(id: $0.id, bytes: Self.inputBytes($0.id)) },
                nodes: task.graph.nodes.map { TaskNode(id: $0.id, module: shared($0.module), inputs: $0.inputs) }))
        }
        let total = modules.reduce(0) { $0 + $1.memoryBytes }
        instance = PlacementInstance(
            devices: [PlacementDevice(id: "reference", memoryBytes: max(total, 1), gflops: ModuleCost.referenceGflops, link: link)],
            modules: modules, tasks: tasks, transfers: .direct)
        self.digests = digests
    }

    /// Bytes of one invocation's outputs: fixed sizes as declared; a symbolic size counts 1 when it
    /// leads the shape (the batch), else its typical value by name (``typicalSize(_:)``); a string
    /// element 64 bytes.
    public static func outputBytes(_ outputs: [TensorDeclaration]) -> Int {
        outputs.reduce(0) { sum, tensor in
            let elements = tensor.shape.enumerated().reduce(1) { product, item in
                switch item.element {
                case .fixed(let size): product * size
                case .symbol(let name): product * (item.offset == 0 ? 1 : typicalSize(name))
                }
            }
            return sum + elements * Self.elementBytes(tensor.dtype)
        }
    }

    /// A symbolic dimension's typical size by the default catalog's naming: `H`, `W` (a page for
    /// text reading) 960; `S` (audio samples, 10 s at 16 kHz) 160,000; `B` (an encoded file)
    /// 150,000; anything else (tokens `T`, candidates `M`, labels `K`) 32.
    public static func typicalSize(_ symbol: String) -> Int {
        switch symbol {
        case "H", "W": 960
        case "S": 160_000
        case "B": 150_000
        default: 32
        }
    }

    static func elementBytes(_ dtype: String) -> Int {
        switch dtype {
        case "float32", "int32": 4
        case "int64": 8
        case "float16": 2
        case "string": 64
        default: 1
        }
    }

    /// Total resident bytes of the distinct modules and the largest one.
    public var moduleMemory: (total: Int, largest: Int) {
        (instance.modules.reduce(0) { $0 + $1.memoryBytes }, instance.modules.map(\.memoryBytes).max() ?? 0)
    }
}
