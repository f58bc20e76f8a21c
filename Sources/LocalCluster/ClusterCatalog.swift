import Catalog
import Foundation
import Planner

/// The catalog as `s2m3 planner` and `s2m3 up` use it: loaded and checked, each distinct module's
/// cost from the cache in the models folder (measured in child processes the first time), the
/// placement problem it poses, and the memory saved by sharing.
public struct ClusterCatalog: Sendable {
    public let catalogPath: String
    public let modelsDirectory: String
    public let catalog: ModuleCatalog
    public let costs: [String: ModuleCost]
    /// Modules measured by this load (empty when every figure came from the cache).
    public let measured: [String]
    /// A measuring process's own footprint before loading a module (``ModuleCostCache/processBaseBytes``):
    /// what a device agent needs for itself (nil: not measured).
    public let processBaseBytes: Int?
    public let placement: CatalogPlacement

    public static let defaultCatalog = "catalog/default.json"

    /// `${S2M3_CACHE:-.cache}/models` unless given.
    public static func modelsDirectory(_ given: String?) -> String {
        given ?? CacheDirectory.models
    }

    /// The catalog file: `given`, else the default catalog (found from the repository when the
    /// working directory is elsewhere).
    public static func catalogPath(_ given: String?) -> String {
        let path = given ?? defaultCatalog
        if given == nil || given == defaultCatalog, !FileManager.default.fileExists(atPath: path),
           let found = RepositoryFile.find(defaultCatalog) {
            return found
        }
        return path
    }

    /// `measure` measures a module missing from the cache (the CLI runs `s2m3 probe-module` children).
    public static func load(catalog: String?, models: String?, measure: @escaping CatalogCosts.Measure) async throws -> ClusterCatalog {
        let path = catalogPath(catalog)
        let modelsDirectory = modelsDirectory(models)
        let loaded = try ModuleCatalog.load(path: path, modelsDirectory: modelsDirectory)
        let (costs, measured, processBase) = try await CatalogCosts.resolve(
            catalog: loaded, modelsDirectory: modelsDirectory,
            measure: measure)
        return ClusterCatalog(
            catalogPath: path, modelsDirectory: modelsDirectory, catalog: loaded, costs: costs, measured: measured, processBaseBytes: processBase,
            placement: CatalogPlacement(catalog: loaded, costs: costs))
    }

    public var sharing: SharingReport {
        SharingReport(catalog: catalog, memory: costs.mapValues(\.residentBytes))
    }
}
