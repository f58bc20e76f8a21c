/// The operations built into S2M3 (implemented in `Runtime`), as the catalog knows them: each name
/// with the check of its settings. Every process that loads a catalog (planner and aggregator
/// included, which do not link `Runtime`) rejects the same entries: an unknown operation, an unknown
/// setting or an impossible value, or a declared interface the settings do not produce.
public struct BuiltinDefinition: Sendable {
    public let name: String
    /// Validates the entry's settings against the entry (its assets, its declared outputs); throws
    /// an `invalidModule` ``CatalogError`` naming the key.
    public let check: @Sendable (BuiltinSettings, ModuleEntry) throws(CatalogError) -> Void
    /// Media types its `uint8` input `file` decodes (a task input bound to it is media of these types).
    public let media: [String]

    public init(_ name: String, media: [String] = [], check: @escaping @Sendable (BuiltinSettings, ModuleEntry) throws(CatalogError) -> Void = { settings, _ throws(CatalogError) in
        try settings.checkNoOtherKeys(than: [])
    }) {
        self.name = name
        self.media = media
        self.check = check
    }
}

public enum BuiltinDefinitions {
    /// Every built-in operation, in docs/catalog.md's order. A new built-in is added here and in
    /// `Runtime`'s `ModuleLoader.builtinModule`.
    public static let all: [BuiltinDefinition] = [
        BuiltinDefinition("image-preprocess", media: imageTypes) { settings, entry throws(CatalogError) in
            let image = try ImagePreprocessSettings(settings)
            try checkOutput(of: entry, is: image.outputShape, from: settings)
        },
        BuiltinDefinition("top-k"),
        BuiltinDefinition("wordpiece-tokenize") { settings, entry throws(CatalogError) in
            _ = try TokenizerSettings(settings, assets: entry.assets ?? [], defaultVocabulary: "bert-vocab.txt")
        },
        BuiltinDefinition("clip-tokenize") { settings, entry throws(CatalogError) in
            _ = try TokenizerSettings(settings, assets: entry.assets ?? [], defaultVocabulary: "vocab.json", defaultMaxLength: 77,
                                      defaultMerges: "merges.txt")
        },
        BuiltinDefinition("tokenizer-json") { settings, entry throws(CatalogError) in
            _ = try TokenizerSettings(settings, assets: entry.assets ?? [], defaultVocabulary: "tokenizer.json", defaultMaxLength: 512)
        },
        BuiltinDefinition("softmax-texts"),
        BuiltinDefinition("label-bridge"),
        BuiltinDefinition("cosine-match"),
        BuiltinDefinition("wav-decode", media: ["audio/wav"]),
        BuiltinDefinition("log-mel"),
        BuiltinDefinition("whisper-detokenize"),
        BuiltinDefinition("ocr-preprocess", media: imageTypes),
        BuiltinDefinition("ocr-crop", media: imageTypes),
        BuiltinDefinition("ctc-decode"),
        BuiltinDefinition("combine"),
    ]

    static let imageTypes = ["image/jpeg", "image/png"]

    public static func named(_ name: String) -> BuiltinDefinition? { all.first { $0.name == name } }

    /// The entry declares exactly one output, of fixed shape `shape` (what the settings produce).
    public static func checkOutput(of entry: ModuleEntry, is shape: [Int], from settings: BuiltinSettings) throws(CatalogError) {
        let declared = entry.outputs.map { $0.shape.map(\.description) }
        guard declared == [shape.map(String.init)] else {
            throw CatalogError(
                .invalidModule, entry: entry.id,
                "the declared output shape \(declared.map { "[\($0.joined(separator: ","))]" }.joined(separator: ", ")) is not what the settings produce: [\(shape.map(String.init).joined(separator: ","))]\(settings.values.isEmpty ? " (the defaults)" : "")")
        }
    }
}
