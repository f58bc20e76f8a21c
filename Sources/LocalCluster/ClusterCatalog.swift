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
    public let placement: CatalogPlacement

    public static let defaultCatalog = "catalog/default.json"

    /// `${S2M3_CACHE:-.cache}/models` unless given.
    public static func modelsDirectory(_ given: String?) -> String {
        given ?? CacheDirectory.models
    }

    /// `measure` measures a module missing from the cache (the CLI runs `s2m3 probe-module` children).
    public static func load(catalog: String?, models: String?, measure: @escaping CatalogCosts.Measure) async throws -> ClusterCatalog {
        var path = catalog ?? defaultCatalog
        if catalog == nil || catalog == defaultCatalog, !FileManager.default.fileExists(atPath: path),
           let found = RepositoryFile.find(defaultCatalog) {
            path = found
        }
        let modelsDirectory = modelsDirectory(models)
        let loaded = try ModuleCatalog.load(path: path, modelsDirectory: modelsDirectory)
        let (costs, measured) = try await CatalogCosts.resolve(
            catalog: loaded, modelsDirectory: modelsDirectory,
            measure: measure)
        return ClusterCatalog(
            catalogPath: path, modelsDirectory: modelsDirectory, catalog: loaded, costs: costs, measured: measured,
            placement: CatalogPlacement(catalog: loaded, costs: costs))
    }

    public var sharing: SharingReport {
        SharingReport(catalog: catalog, memory: costs.mapValues(\.residentBytes))
    }
}
