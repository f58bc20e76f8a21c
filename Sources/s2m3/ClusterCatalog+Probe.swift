import LocalCluster
import Planner

extension ClusterCatalog {
    /// The catalog with its modules' costs, a module missing from the cache measured by an
    /// `s2m3 probe-module` child of this executable (``ModuleProbeChild``).
    static func load(catalog: String?, models: String?) async throws -> ClusterCatalog {
        let warmUp = CatalogCosts.runtimeWarmUpModel(modelsDirectory: ClusterCatalog.modelsDirectory(models))
        return try await load(catalog: catalog, models: models, measure: ModuleProbeChild.measure(runtimeWarmUp: warmUp))
    }
}
