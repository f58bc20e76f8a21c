import Catalog
import Foundation
import Planner

/// The catalog as `s2m3 planner` and `s2m3 up` use it: loaded and checked, each distinct module's
/// cost from the cache in the models folder (measured in child processes the first time), the
/// placement problem it poses, and the memory saved by sharing.
struct ClusterCatalog {
    let catalogPath: String
    let modelsDirectory: String
    let catalog: ModuleCatalog
    let costs: [String: ModuleCost]
    /// Modules measured by this load (empty when every figure came from the cache).
    let measured: [String]
    let placement: CatalogPlacement

    static let defaultCatalog = "catalog/default.json"

    /// `${S2M3_CACHE:-.cache}/models` unless given.
    static func modelsDirectory(_ given: String?) -> String {
        given ?? CacheDirectory.models
    }

    static func load(catalog: String?, models: String?) async throws -> ClusterCatalog {
        var path = catalog ?? defaultCatalog
        if catalog == nil || catalog == defaultCatalog, !FileManager.default.fileExists(atPath: path),
           let found = RepositoryFile.find(defaultCatalog) {
            path = found
        }
        let modelsDirectory = modelsDirectory(models)
        let loaded = try ModuleCatalog.load(path: path, modelsDirectory: modelsDirectory)
        let (costs, measured) = try await CatalogCosts.resolve(
            catalog: loaded, modelsDirectory: modelsDirectory,
            measure: ModuleProbeChild.measure(runtimeWarmUp: CatalogCosts.runtimeWarmUpModel(modelsDirectory: modelsDirectory)))
        return ClusterCatalog(
            catalogPath: path, modelsDirectory: modelsDirectory, catalog: loaded, costs: costs, measured: measured,
            placement: CatalogPlacement(catalog: loaded, costs: costs))
    }

    var sharing: SharingReport {
        SharingReport(catalog: catalog, memory: costs.mapValues(\.residentBytes))
    }
}
