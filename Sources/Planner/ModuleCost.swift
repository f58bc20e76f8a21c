import Foundation

/// What the planner counts for one module: the resident memory it needs loaded and running at the
/// largest inputs the catalog allows (weights and run-time working set), and the compute of one invocation. Measured once per module digest and cached (``ModuleCostCache``).
public struct ModuleCost: Sendable, Hashable, Codable {
    /// Peak resident memory of the module loaded and run at the largest inputs the catalog allows
    /// (``ModuleMeasurement/residentBytes``), bytes. Built-ins: 0.
    public var residentBytes: Int
    /// Median time of one invocation on synthetic inputs on the measuring machine, ms: one model run
    /// × ``modelRunsPerInvocation(driver:)`` (nil: not measured).
    public var p50Ms: Double?
    /// Compute per invocation, GFLOP: `p50Ms` × the reference speed, or an estimate from the
    /// memory (2 FLOP per 4-byte parameter) when the module could not be run on synthetic inputs.
    public var gflop: Double

    public init(residentBytes: Int, p50Ms: Double?, gflop: Double) {
        self.residentBytes = residentBytes
        self.p50Ms = p50Ms
        self.gflop = gflop
    }

    /// A built-in operation: no weights, and compute not counted (0 GFLOP: its time is not
    /// comparable with a GFLOP/s speed, so it neither loads a device nor calibrates one).
    public static let builtin = ModuleCost(residentBytes: 0, p50Ms: nil, gflop: 0)

    /// Speed assumed when none was measured (the placeholder device of ``CatalogPlacement``).
    public static let referenceGflops = 50.0

    /// Model runs one invocation costs, in runs on synthetic inputs: `whisper-greedy` decodes
    /// token by token (about 12 steps for a short sentence or command), counted as about 4 runs of
    /// 32 synthetic tokens. That figure dates from before the decoder's key/value caches (each step
    /// then re-ran the prefix and the features; now the first call projects the features once and
    /// each later one computes one token) and was not measured again; every other driver runs the
    /// model once.
    public static func modelRunsPerInvocation(driver: String?) -> Double {
        driver == "whisper-greedy" ? 4 : 1
    }

    /// The cost from a measurement: GFLOP = seconds × `referenceGflops`; without a timing, from memory.
    public static func measured(residentBytes: Int, p50Ms: Double?, referenceGflops: Double) -> ModuleCost {
        let gflop: Double
        if let p50Ms, p50Ms > 0 {
            gflop = p50Ms / 1000 * referenceGflops
        } else {
            gflop = max(0.001, Double(residentBytes) / 4 * 2 / 1e9)
        }
        return ModuleCost(residentBytes: residentBytes, p50Ms: p50Ms, gflop: gflop)
    }
}

/// The measured costs of modules by digest, kept as JSON in the models folder
/// (`.s2m3-module-costs-3.json`, the schema's major version in the name; version 3 counts the
/// run-time working set, version 2 counted loading only), so a planner or
/// `s2m3 up` measures each module only once.
///
/// Entries are keyed by the catalog digest (weights + interface), so a changed file or interface is
/// measured again; figures of other machines are simply taken as they are (delete the file to
/// re-measure).
public struct ModuleCostCache: Sendable, Hashable, Codable {
    public static let fileName = ".s2m3-module-costs-3.json"
    public static let schema = "s2m3.module-costs/3"

    public var schema: String = Self.schema
    /// Module digest → cost.
    public var modules: [String: ModuleCost]
    /// The largest resident memory of a measuring process before its module was loaded (an `s2m3`
    /// process with the catalog read and ONNX Runtime started): what a device agent needs for
    /// itself before it hosts anything (nil: not measured yet).
    public var processBaseBytes: Int?

    public init(modules: [String: ModuleCost] = [:]) {
        self.modules = modules
    }

    public static func path(inModels directory: String) -> String {
        (directory as NSString).appendingPathComponent(fileName)
    }

    /// The cache in `directory`, or nil when absent or unreadable (it is then rebuilt).
    public static func load(fromModels directory: String) -> ModuleCostCache? {
        guard let data = FileManager.default.contents(atPath: path(inModels: directory)),
              let cache = try? JSONDecoder().decode(ModuleCostCache.self, from: data), cache.schema == schema
        else { return nil }
        return cache
    }

    /// Writes atomically; returns false (and changes nothing) when the folder is not writable.
    @discardableResult
    public func save(toModels directory: String) -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return false }
        return (try? data.write(to: URL(fileURLWithPath: Self.path(inModels: directory)), options: .atomic)) != nil
    }
}
