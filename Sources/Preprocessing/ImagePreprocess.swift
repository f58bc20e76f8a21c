import Inference

/// The image front end of a vision model: decode, resize (whole image, or shorter side then centre
/// crop), scale to [0, 1], normalise per channel, and lay out as an NCHW float32 tensor
/// `[1, 3, height, width]`.
///
/// Pixel-exact with Pillow (see ``ImageResampler``): `.stretch` is `img.resize((w, h), filter)`;
/// `.shorterSideThenCenterCrop` is torchvision's `Resize(side)` + `CenterCrop((h, w))` on a PIL
/// image; then `ToTensor()` + `Normalize(mean, std)`.
public struct ImagePreprocess: Sendable, Hashable {
    /// How the image is brought to the model's input size.
    public enum Resize: Sendable, Hashable, Codable {
        /// The whole image to exactly `width` x `height` (aspect ratio not kept).
        case stretch(width: Int, height: Int)
        /// The shorter side to `side` (the longer side keeps the aspect ratio, truncated), then the
        /// centre `width` x `height`.
        case shorterSideThenCenterCrop(side: Int, width: Int, height: Int)

        var outputSize: (width: Int, height: Int) {
            switch self {
            case .stretch(let w, let h), .shorterSideThenCenterCrop(_, let w, let h): (w, h)
            }
        }
    }

    /// Where a centre crop starts when the margin is odd: torchvision rounds half the margin to even
    /// (`round((h - crop) / 2)`), transformers' image processors round it down (`(h - crop) // 2`).
    public enum CropRounding: String, Sendable, Hashable, Codable {
        case halfToEven, down
    }

    public struct Configuration: Sendable, Hashable, Codable {
        public var resize: Resize
        public var filter: ImageResampler.Filter
        public var cropRounding: CropRounding
        /// Per-channel (R, G, B) mean and standard deviation, applied after scaling to [0, 1].
        public var mean: [Float]
        public var std: [Float]

        public init(
            resize: Resize = .stretch(width: 224, height: 224), filter: ImageResampler.Filter = .bilinear,
            mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5], cropRounding: CropRounding = .halfToEven
        ) {
            self.resize = resize
            self.filter = filter
            self.cropRounding = cropRounding
            self.mean = mean
            self.std = std
        }

        /// EfficientNet-Lite0 as converted by the project's model set-up: the whole image to 224x224,
        /// bilinear, mean = std = 0.5 (values in [-1, 1]). (Cat photo: "Egyptian cat" 0.79; a
        /// 256-then-crop-224 recipe gives 0.38 on that wide photo.)
        public static let efficientNetLite0 = Configuration()

        /// The common torchvision ImageNet recipe: shorter side 256, centre 224, bilinear, ImageNet
        /// mean and std.
        public static let imageNetCenterCrop = Configuration(
            resize: .shorterSideThenCenterCrop(side: 256, width: 224, height: 224),
            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    }

    public let configuration: Configuration

    /// Throws `invalidConfiguration` for sizes below 1, a crop larger than the resized shorter side, or
    /// mean/std not of three values (std non-zero).
    public init(_ configuration: Configuration = .efficientNetLite0) throws(PreprocessingError) {
        let (width, height) = configuration.resize.outputSize
        var valid = width > 0 && height > 0
        if case .shorterSideThenCenterCrop(let side, _, _) = configuration.resize {
            valid = valid && width <= side && height <= side
        }
        guard valid else {
            throw PreprocessingError(
                .invalidConfiguration, "\(configuration.resize): sizes must be positive and a crop no larger than the resize")
        }
        guard configuration.mean.count == 3, configuration.std.count == 3, !configuration.std.contains(0) else {
            throw PreprocessingError(.invalidConfiguration, "mean and std need three values each, std non-zero")
        }
        self.configuration = configuration
    }

    /// Decodes and pre-processes encoded JPEG or PNG bytes of at most `maxPixels` pixels; `name`
    /// is reported in errors.
    public func callAsFunction(
        encoded bytes: [UInt8], name: String = "image", maxPixels: Int = ImageDecoder.defaultMaxPixels
    ) throws(PreprocessingError) -> Tensor {
        try callAsFunction(ImageDecoder.decode(bytes, name: name, maxPixels: maxPixels))
    }

    /// Pre-processes a decoded image.
    public func callAsFunction(_ image: RGBImage) -> Tensor {
        // mean and std were validated in init.
        try! resized(image).normalizedTensor(mean: configuration.mean, std: configuration.std)
    }

    /// The resized (and, for `.shorterSideThenCenterCrop`, centre-cropped) 8-bit image.
    public func resized(_ image: RGBImage) -> RGBImage {
        // All sizes are at least 1: validated configuration, non-empty image.
        switch configuration.resize {
        case .stretch(let width, let height):
            return try! ImageResampler.resize(image, width: width, height: height, filter: configuration.filter)
        case .shorterSideThenCenterCrop(let side, let cropWidth, let cropHeight):
            let (width, height) = Self.shorterSideSize(width: image.width, height: image.height, side: side)
            let resized = try! ImageResampler.resize(image, width: width, height: height, filter: configuration.filter)
            // torchvision: top = int(round((h - crop_h) / 2)), Python's round is half-to-even;
            // transformers: (h - crop_h) // 2.
            let rule: FloatingPointRoundingRule = configuration.cropRounding == .down ? .down : .toNearestOrEven
            let left = Int((Double(width - cropWidth) / 2).rounded(rule))
            let top = Int((Double(height - cropHeight) / 2).rounded(rule))
            return resized.cropped(x: left, y: top, width: cropWidth, height: cropHeight)
        }
    }

    /// torchvision's size for `Resize(side)`: the shorter side becomes `side`, the longer
    /// `Int(side * long / short)`.
    static func shorterSideSize(width: Int, height: Int, side: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (side, max(1, Int(Double(side * height) / Double(width))))
        }
        return (max(1, Int(Double(side * width) / Double(height))), side)
    }
}

extension ImagePreprocess.Configuration {
    private enum CodingKeys: String, CodingKey { case resize, filter, mean, std, cropRounding }

    /// `cropRounding` may be absent (torchvision's half-to-even).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            resize: try container.decode(ImagePreprocess.Resize.self, forKey: .resize),
            filter: try container.decode(ImageResampler.Filter.self, forKey: .filter),
            mean: try container.decode([Float].self, forKey: .mean), std: try container.decode([Float].self, forKey: .std),
            cropRounding: try container.decodeIfPresent(ImagePreprocess.CropRounding.self, forKey: .cropRounding) ?? .halfToEven)
    }
}
