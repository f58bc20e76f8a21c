/// `image-preprocess`'s settings (docs/catalog.md): how the decoded image becomes the model's
/// `[1, 3, height, width]` float input. Defaults are EfficientNet-Lite0's recipe: the whole image
/// stretched to 224x224, bilinear, mean = std = 0.5, RGB.
///
/// ```json
/// "settings": {"resize": "shorter-side", "size": 224, "crop": 224, "interpolation": "bicubic",
///              "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}
/// ```
public struct ImagePreprocessSettings: Sendable, Hashable {
    public struct Size: Sendable, Hashable {
        public var width: Int, height: Int
    }

    public enum Resize: String, Sendable, Hashable {
        /// The whole image to exactly `size` (aspect ratio not kept).
        case stretch
        /// The shorter side to `size`, then the centre `crop`.
        case shorterSide = "shorter-side"
    }

    public var resize: Resize
    /// `stretch`: the output size; `shorter-side`: the shorter side (width = height = that side).
    public var width: Int, height: Int
    /// `shorter-side` only: the centre crop, which is the output size.
    public var crop: Size?
    /// `bilinear` or `bicubic` (Pillow's filters).
    public var interpolation: String
    /// Per output channel, after scaling to [0, 1]: `(value - mean) / std`.
    public var mean: [Float], std: [Float]
    /// `rgb` or `bgr`: the order of the three output planes (mean and std are in this order).
    public var channelOrder: String
    /// Where an odd crop margin starts: `half-to-even` (torchvision's `round(margin / 2)`) or `down`
    /// (transformers' image processors' `margin // 2`, e.g. `CLIPImageProcessor`).
    public var cropRounding: String

    public static let keys = ["resize", "size", "crop", "interpolation", "mean", "std", "channelOrder", "cropRounding"]
    /// Sides S2M3 resizes to, at most (bounds the tensor allocated per image).
    public static let sides = 1...4096

    public init(_ settings: BuiltinSettings) throws(CatalogError) {
        try settings.checkNoOtherKeys(than: Self.keys)
        resize = Resize(rawValue: try settings.choice("resize", [Resize.stretch.rawValue, Resize.shorterSide.rawValue]))!
        let size = try settings.size("size", in: Self.sides) ?? (224, 224)
        (width, height) = size
        crop = try settings.size("crop", in: Self.sides).map { Size(width: $0.width, height: $0.height) }
        switch (resize, crop) {
        case (.stretch, .some):
            throw settings.error("crop", "needs \"resize\": \"shorter-side\" (a stretched image is already the output size)")
        case (.shorterSide, nil):
            throw settings.error("crop", "is required with \"resize\": \"shorter-side\" (the output must have a fixed size)")
        case (.shorterSide, .some(let crop)):
            guard width == height else { throw settings.error("size", "with \"shorter-side\" is one integer, the shorter side") }
            guard crop.width <= width, crop.height <= width else {
                throw settings.error("crop", "\(crop.width)x\(crop.height) is larger than the resized shorter side \(width)")
            }
        case (.stretch, nil):
            break
        }
        interpolation = try settings.choice("interpolation", ["bilinear", "bicubic"])
        mean = try settings.numbers("mean", count: 3, default: [0.5, 0.5, 0.5])
        std = try settings.numbers("std", count: 3, default: [0.5, 0.5, 0.5], rule: "each above 0", where: { $0 > 0 })
        channelOrder = try settings.choice("channelOrder", ["rgb", "bgr"])
        cropRounding = try settings.choice("cropRounding", ["half-to-even", "down"])
    }

    /// The tensor the settings produce: `[1, 3, height, width]`.
    public var outputShape: [Int] {
        let size = crop ?? Size(width: width, height: height)
        return [1, 3, size.height, size.width]
    }
}

/// A tokenizer's settings: `vocabulary` (one of the entry's `assets`), `merges` (BPE tokenizers
/// only, also an asset) and `maxLength` (tokens per text, special tokens included; longer texts are
/// truncated).
public struct TokenizerSettings: Sendable, Hashable {
    public var vocabulary: String
    /// The merges file of a BPE tokenizer (nil for the others).
    public var merges: String?
    public var maxLength: Int

    /// `assets`: the entry's asset files (names or paths; the vocabulary and merges must be among them).
    /// `defaultMerges`: non-nil for a BPE tokenizer, which then takes a `merges` setting.
    public init(
        _ settings: BuiltinSettings, assets: [String], defaultVocabulary: String, defaultMaxLength: Int = 256,
        defaultMerges: String? = nil
    ) throws(CatalogError) {
        try settings.checkNoOtherKeys(than: defaultMerges == nil ? ["vocabulary", "maxLength"] : ["vocabulary", "merges", "maxLength"])
        func asset(_ key: String, default fallback: String) throws(CatalogError) -> String {
            let name = try settings.string(key, default: fallback)
            guard assets.contains(where: { $0 == name || $0.hasSuffix("/" + name) }) else {
                throw settings.error(key, "names \"\(name)\", which is not one of the entry's \"assets\" (assets are part of the digest)")
            }
            return name
        }
        vocabulary = try asset("vocabulary", default: defaultVocabulary)
        if let defaultMerges { merges = try asset("merges", default: defaultMerges) }
        maxLength = try settings.integer("maxLength", in: 2...8192, default: defaultMaxLength)
    }
}
