import Catalog
import TextReading

/// The largest inputs a catalog lets a module see, for measuring its run-time working set
/// (``LoadedModule/warmUpAtLargest(_:)``): what the planner counts for a module is its memory after
/// loading and running at these sizes (docs/engine.md, "Module memory").
public struct LargestInputs: Sendable, Hashable {
    /// Invocations a device joins into one batch of a batchable module (the device agent's
    /// `--max-batch`, 8 by default).
    public var batch: Int
    /// Tokens of one text: the largest `maxLength` of the catalog's tokenizers.
    public var tokens: Int
    /// The detector's largest page, pixels (width, height): ``TextReader/detectionSize(width:height:side:)``
    /// keeps both sides at most 2000 (then rounded to multiples of 32) unless it scales a shorter side
    /// up to 736 (longer side at most 4000, fewer pixels): a 2000 × 2000 image, 2016 × 2016, is the most.
    public var page: (width: Int, height: Int) = TextReader.detectionSize(
        width: TextReader.maximumImageSide, height: TextReader.maximumImageSide)
    /// The recogniser's widest line at height 48, pixels: a line as wide as the widest page the
    /// detector sees (4000).
    public var lineWidth = TextReader.maximumDetectionSide

    public init(batch: Int = Self.defaultBatch, tokens: Int = Self.defaultTokens) {
        self.batch = batch
        self.tokens = tokens
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.batch == b.batch && a.tokens == b.tokens && a.page == b.page && a.lineWidth == b.lineWidth
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(batch)
        hasher.combine(tokens)
        hasher.combine(page.width)
        hasher.combine(page.height)
        hasher.combine(lineWidth)
    }

    /// The device agent's default largest batch.
    public static let defaultBatch = 8
    /// Tokens when the catalog has no tokenizer (the `wordpiece-tokenize` default).
    public static let defaultTokens = 256

    /// The bounds of `catalog`: tokens from its tokenizers' `maxLength` (their defaults when unset:
    /// `wordpiece-tokenize` 256, `clip-tokenize` 77, `tokenizer-json` 512), the given batch.
    public static func of(_ catalog: ModuleCatalog, batch: Int = defaultBatch) -> LargestInputs {
        let defaults = ["wordpiece-tokenize": 256, "clip-tokenize": 77, "tokenizer-json": 512]
        var tokens: Int?
        for module in catalog.modules where module.kind == .builtin {
            guard let fallback = defaults[module.operation ?? module.id] else { continue }
            let length = (try? module.settings.integer("maxLength", in: 2...8192, default: fallback)) ?? fallback
            tokens = max(tokens ?? 0, length)
        }
        return LargestInputs(batch: max(1, batch), tokens: tokens ?? defaultTokens)
    }
}

extension LoadedModule {
    /// By default the usual warm-up: a module whose inputs have fixed sizes (or are cut into fixed
    /// pieces) has no larger input.
    public func warmUpAtLargest(_ bounds: LargestInputs) async throws(ModuleError) { try await warmUp() }
}

extension SingleRunModule {
    /// The batch dimension of a batchable module at `bounds.batch`; a token dimension `T` at `bounds.tokens`.
    func warmUpAtLargest(_ bounds: LargestInputs) async throws(ModuleError) {
        var sizes = ["T": bounds.tokens]
        if manifest.isBatchable, case .symbol(let batch)? = manifest.callInputs.first?.shape.first { sizes[batch] = bounds.batch }
        try await runOnDummyInputs(sizes: sizes)
    }
}

extension OCRDetectModule {
    func warmUpAtLargest(_ bounds: LargestInputs) async throws(ModuleError) {
        try await runOnDummyInputs(sizes: ["H": bounds.page.height, "W": bounds.page.width])
    }
}

extension OCRRecogniseModule {
    func warmUpAtLargest(_ bounds: LargestInputs) async throws(ModuleError) {
        try await runOnDummyInputs(sizes: ["N": 1, "W": bounds.lineWidth])
    }
}
