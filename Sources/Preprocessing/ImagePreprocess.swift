import Inference

/// The image front end of a vision model: decode, resize the shorter side, centre-crop, scale to
/// [0, 1], normalise per channel, and lay out as an NCHW float32 tensor `[1, 3, cropHeight, cropWidth]`.
///
/// Matches torchvision's `Resize(resizeShorterSide)`, `CenterCrop(crop)`, `ToTensor()`,
/// `Normalize(mean, std)` on a PIL RGB image (see ``ImageResampler``). The default is the
/// EfficientNet-Lite0 recipe: 256 then 224, bilinear, mean = std = 0.5 (values in [-1, 1]).
public struct ImagePreprocess: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// Length the shorter side is resized to (the longer side keeps the aspect ratio, truncated).
        public var resizeShorterSide: Int
        public var cropWidth: Int
        public var cropHeight: Int
        public var filter: ImageResampler.Filter
        /// Per-channel (R, G, B) mean and standard deviation, applied after scaling to [0, 1].
        public var mean: [Float]
        public var std: [Float]

        public init(
            resizeShorterSide: Int = 256, cropWidth: Int = 224, cropHeight: Int = 224,
            filter: ImageResampler.Filter = .bilinear, mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5]
        ) {
            self.resizeShorterSide = resizeShorterSide
            self.cropWidth = cropWidth
            self.cropHeight = cropHeight
            self.filter = filter
            self.mean = mean
            self.std = std
        }

        /// EfficientNet-Lite0 (ImageNet): 256 → 224, bilinear, mean = std = 0.5.
        public static let efficientNetLite0 = Configuration()
    }

    public let configuration: Configuration

    /// Throws `invalidConfiguration` for sizes below 1, a crop larger than the resized shorter side, or
    /// mean/std not of three values (std non-zero).
    public init(_ configuration: Configuration = .efficientNetLite0) throws(PreprocessingError) {
        let c = configuration
        guard c.resizeShorterSide > 0, c.cropWidth > 0, c.cropHeight > 0,
              c.cropWidth <= c.resizeShorterSide, c.cropHeight <= c.resizeShorterSide
        else {
            throw PreprocessingError(
                .invalidConfiguration,
                "resize \(c.resizeShorterSide) and crop \(c.cropWidth)x\(c.cropHeight) must be positive, the crop no larger than the resize")
        }
        guard c.mean.count == 3, c.std.count == 3, !c.std.contains(0) else {
            throw PreprocessingError(.invalidConfiguration, "mean and std need three values each, std non-zero")
        }
        self.configuration = configuration
    }

    /// Decodes and pre-processes encoded JPEG or PNG bytes; `name` is reported in errors.
    public func callAsFunction(encoded bytes: [UInt8], name: String = "image") throws(PreprocessingError) -> Tensor {
        try callAsFunction(ImageDecoder.decode(bytes, name: name))
    }

    /// Pre-processes a decoded image.
    public func callAsFunction(_ image: RGBImage) -> Tensor {
        // mean and std were validated in init.
        try! resizedAndCropped(image).normalizedTensor(mean: configuration.mean, std: configuration.std)
    }

    /// The resized and centre-cropped 8-bit image (torchvision's size and crop arithmetic).
    public func resizedAndCropped(_ image: RGBImage) -> RGBImage {
        let (width, height) = resizedSize(width: image.width, height: image.height)
        // Both sizes are at least 1 (validated configuration, non-empty image).
        let resized = try! ImageResampler.resize(image, width: width, height: height, filter: configuration.filter)
        let cw = min(configuration.cropWidth, width), ch = min(configuration.cropHeight, height)
        let left = Int((Double(width - cw) / 2).rounded(.toNearestOrEven))
        let top = Int((Double(height - ch) / 2).rounded(.toNearestOrEven))
        return resized.cropped(x: left, y: top, width: cw, height: ch)
    }

    /// Output size of the shorter-side resize: the longer side is `Int(short * long / shortIn)`.
    func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let target = configuration.resizeShorterSide
        if width <= height {
            return (target, max(1, Int(Double(target * height) / Double(width))))
        }
        return (max(1, Int(Double(target * width) / Double(height))), target)
    }
}
