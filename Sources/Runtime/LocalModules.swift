import Catalog

/// The modules of one process, each loaded once and shared by every task that uses it: modules the
/// catalog finds identical (same digest) are one instance, and concurrent first uses wait for one load.
///
/// With `maxBatch` above 1, a batchable module is shared through a ``BatchingModule``: up to
/// `concurrency` runs go at once, and calls that wait meanwhile are run together, up to `maxBatch`.
public actor LocalModules {
    public let loader: ModuleLoader
    public let maxBatch: Int
    public let concurrency: Int
    private var loads: [String: Task<Result<any LoadedModule, ModuleError>, Never>] = [:]

    public init(loader: ModuleLoader, maxBatch: Int = 1, concurrency: Int = 1) {
        self.loader = loader
        self.maxBatch = max(1, maxBatch)
        self.concurrency = max(1, concurrency)
    }

    /// Module `id`, loading it on first use. A failed load is not cached (the next call tries again).
    public func module(_ id: String) async throws(ModuleError) -> any LoadedModule {
        let key = loader.catalog.sharedID[id] ?? id
        let load: Task<Result<any LoadedModule, ModuleError>, Never>
        if let existing = loads[key] {
            load = existing
        } else {
            let (loader, maxBatch, concurrency) = (loader, maxBatch, concurrency)
            load = Task {
                await captureResult { () async throws(ModuleError) -> any LoadedModule in
                    let module = try await loader.load(key)
                    return maxBatch > 1 && module.manifest.isBatchable ? BatchingModule(module, maxBatch: maxBatch, concurrency: concurrency) : module
                }
            }
            loads[key] = load
        }
        let result = await load.value
        if case .failure = result, loads[key] == load { loads[key] = nil }
        return try result.get()
    }

    /// Loads every module `ids` names (e.g. all of a task's), one after another.
    public func preload(_ ids: some Sequence<String>) async throws(ModuleError) {
        for id in ids { _ = try await module(id) }
    }

    /// Ids of the modules loaded so far.
    public var loadedIDs: [String] { loads.keys.sorted() }
}

/// `Result(catching:)` for async work with a typed error.
func captureResult<T>(_ body: () async throws(ModuleError) -> T) async -> Result<T, ModuleError> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
