import LocalCluster
import Planner

extension ClusterCatalog {
    /// The catalog with its modules' costs, a module missing from the cache measured by an
    /// `s2m3 probe-module` child of this executable (``ModuleProbeChild``).
    static func load(catalog: String?, models: String?) async throws -> ClusterCatalog {
        let modelsDirectory = ClusterCatalog.modelsDirectory(models)
        let warmUp = CatalogCosts.runtimeWarmUpModel(modelsDirectory: modelsDirectory)
        let measure = ModuleProbeChild.measure(runtimeWarmUp: warmUp, catalog: ClusterCatalog.catalogPath(catalog), models: modelsDirectory)
        return try await load(catalog: catalog, models: models, measure: measure)
    }
}
