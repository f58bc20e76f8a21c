import ArgumentParser
import LocalCluster

/// `--catalog` and `--models`, as the commands that load modules take them.
struct CatalogOptions: ParsableArguments {
    @Option(help: "The module catalog.")
    var catalog = "catalog/default.json"

    @Option(help: "Folder of the module files (default: ${S2M3_CACHE:-.cache}/models).")
    var models: String?

    /// `--models`, else the cache's models folder.
    var modelsDirectory: String { models ?? CacheDirectory.models }
}
