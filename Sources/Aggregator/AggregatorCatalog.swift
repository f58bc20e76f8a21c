import Catalog
import Foundation

/// Loads a catalog for an aggregator, which needs the tasks and each module's call interface but
/// never the weights: module files are not read (an aggregator may run on a box without models),
/// so digests stand in from the file paths. Devices check real digests when they load.
public enum AggregatorCatalog {
    public static func load(path: String) throws(CatalogError) -> ModuleCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CatalogError(.invalidFormat, entry: "", "cannot read the catalog file \(path): check the path")
        }
        var document: CatalogDocument
        do {
            document = try JSONDecoder().decode(CatalogDocument.self, from: data)
        } catch {
            throw CatalogError(.invalidFormat, entry: "", "\(path) is not a valid catalog (see docs/catalog.md): \(error)")
        }
        for index in document.modules.indices { document.modules[index].sha256 = nil }
        return try ModuleCatalog(document: document, modelsDirectory: "/", fileSHA256: { SHA256.hex(of: "path:" + $0) })
    }
}
