import Foundation
import Inference
import Preprocessing
import Testing

private struct ImageGolden: Decodable {
    struct Config: Decodable {
        let stretch: [Int]?; let resize: Int?; let crop: Int?; let filter: String; let mean: [Float]; let std: [Float]

        var configuration: ImagePreprocess.Configuration {
            let resizing: ImagePreprocess.Resize = if let stretch {
                .stretch(width: stretch[0], height: stretch[1])
            } else {
                .shorterSideThenCenterCrop(side: resize!, width: crop!, height: crop!)
            }
            return .init(resize: resizing, filter: filter == "bicubic" ? .bicubic : .bilinear, mean: mean, std: std)
        }
    }
    struct Result: Decodable {
        let resized: [Int]; let crop_origin: [Int]; let crop_fnv1a64: String; let shape: [Int]
        let sum: Double; let sample_stride: Int; let sample: [Float]
    }
    struct Image: Decodable {
        let width: Int; let height: Int; let rgb_fnv1a64: String; let rgb_sample_stride: Int; let rgb_sample: [UInt8]
        let preprocess: [String: Result]
    }
    struct Synthetic: Decodable { let width: Int; let height: Int; let seed: UInt32; let fnv1a64: String }
    struct ResizeCase: Decodable { let width: Int; let height: Int; let filter: String; let fnv1a64: String }
    let configs: [String: Config]
    let images: [String: Image]
    let synthetic: Synthetic
    let resize_cases: [ResizeCase]
}

@Suite("Image decoding and pre-processing match Pillow")
struct ImagePreprocessTests {
    private let golden: ImageGolden

    init() throws { golden = try Fixtures.golden("image.json", as: ImageGolden.self) }

    @Test(arguments: ["chelsea.png", "rocket.jpg", "camera.png", "logo.png"])
    func decodesLikePillow(name: String) throws {
        let expected = try #require(golden.images[name])
        let image = try ImageDecoder.decode(try Fixtures.bytes(name), name: name)
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(Fixtures.strided(image.pixels, expected.rgb_sample_stride) == expected.rgb_sample)
        #expect(Fixtures.fnv1a64(image.pixels) == expected.rgb_fnv1a64, "every decoded byte equals Pillow's")
    }

    @Test(arguments: ["chelsea.png", "rocket.jpg", "camera.png", "logo.png"], ["stretch224", "crop256", "imagenet-bicubic", "stretch320x96"])
    func preprocessesLikePillowAndTorchvision(name: String, config: String) throws {
        let expected = try #require(golden.images[name]?.preprocess[config])
        let preprocess = try ImagePreprocess(try #require(golden.configs[config]).configuration)
        let image = try ImageDecoder.decode(try Fixtures.bytes(name), name: name)

        let cropped = preprocess.resized(image)
        #expect(Fixtures.fnv1a64(cropped.pixels) == expected.crop_fnv1a64, "resized and cropped bytes equal Pillow's")

        let tensor = try preprocess(encoded: try Fixtures.bytes(name), name: name)
        #expect(tensor.shape == expected.shape)
        let values = try #require(tensor.float32Values)
        let sample = Fixtures.strided(values, expected.sample_stride)
        #expect(sample.count == expected.sample.count)
        let worst = zip(sample, expected.sample).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-6, "largest difference \(worst)")
        let sum = values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - expected.sum) < 1e-2)
    }

    /// Pillow's resize of a synthetic image to sizes up, down, mixed and extreme, both filters.
    @Test func resizesExactlyLikePillow() throws {
        let s = golden.synthetic
        var state = s.seed
        let pixels = (0..<(s.width * s.height * 3)).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(state >> 24)
        }
        try #require(Fixtures.fnv1a64(pixels) == s.fnv1a64, "the synthetic image equals the golden script's")
        let image = try RGBImage(width: s.width, height: s.height, pixels: pixels)
        for c in golden.resize_cases {
            let out = try ImageResampler.resize(image, width: c.width, height: c.height, filter: c.filter == "bicubic" ? .bicubic : .bilinear)
            #expect(out.width == c.width && out.height == c.height)
            #expect(Fixtures.fnv1a64(out.pixels) == c.fnv1a64, "\(c.filter) \(s.width)x\(s.height) → \(c.width)x\(c.height)")
        }
    }

    @Test func oddCropMarginsStartWhereTheRoundingSays() throws {
        // 7×4, each pixel's red value its column; the shorter side stays 4. A crop 2 wide starts at
        // column 2 (margin 5: 2.5 → 2 both ways), one 4 wide at 2 half-to-even or 1 down (margin 3).
        let row: [UInt8] = (0..<7).flatMap { (column: Int) -> [UInt8] in [UInt8(column * 30), 0, 0] }
        let image = try RGBImage(width: 7, height: 4, pixels: Array([[UInt8]](repeating: row, count: 4).joined()))
        func firstColumn(_ crop: Int, _ rounding: ImagePreprocess.CropRounding) throws -> UInt8 {
            let preprocess = try ImagePreprocess(.init(resize: .shorterSideThenCenterCrop(side: 4, width: crop, height: crop), cropRounding: rounding))
            return preprocess.resized(image).pixels[0]
        }
        #expect(try firstColumn(4, .halfToEven) == 60)
        #expect(try firstColumn(4, .down) == 30)
        #expect(try firstColumn(2, .halfToEven) == 60 && firstColumn(2, .down) == 60)
    }

    @Test func defaultIsTheEfficientNetRecipe() throws {
        #expect(try ImagePreprocess().configuration == golden.configs["stretch224"]!.configuration)
        let image = try ImageDecoder.decode(try Fixtures.bytes("chelsea.png"))
        let tensor = try ImagePreprocess()(image)
        #expect(tensor.shape == [1, 3, 224, 224])
        let values = try #require(tensor.float32Values)
        #expect(values.min()! >= -1 && values.max()! <= 1)
    }
}

@Suite("Bad images give typed errors naming the input")
struct ImageErrorTests {
    @Test func emptyBytes() {
        #expect { try ImageDecoder.decode([], name: "camera-1") } throws: { error in
            let e = error as? PreprocessingError
            return e?.code == .emptyInput && e?.input == "camera-1"
        }
    }

    @Test func notAnImage() {
        #expect { try ImageDecoder.decode(Array("GIF89a and more".utf8), name: "upload.gif") } throws: { error in
            let e = error as? PreprocessingError
            return e?.code == .unsupportedImage && e?.input == "upload.gif" && e!.description.contains("upload.gif")
        }
    }

    @Test(arguments: [0.5, 0.1])
    func truncatedJPEG(fraction: Double) throws {
        let bytes = try Fixtures.bytes("rocket.jpg")
        let truncated = Array(bytes[0..<Int(Double(bytes.count) * fraction)])
        #expect { try ImageDecoder.decode(truncated, name: "rocket-cut.jpg") } throws: { error in
            let e = error as? PreprocessingError
            return e?.code == .corruptImage && e?.input == "rocket-cut.jpg" && e?.libraryMessage?.isEmpty == false
        }
    }

    @Test func jpegWithDamagedHeader() throws {
        var bytes = try Fixtures.bytes("rocket.jpg")
        for i in 4..<400 { bytes[i] = 0xA5 }
        #expect { try ImageDecoder.decode(bytes, name: "broken.jpg") } throws: { error in
            (error as? PreprocessingError)?.code == .corruptImage
        }
    }

    /// libjpeg warns about bytes it skips but still decodes the whole image; Pillow accepts it too.
    @Test func extraneousBytesBeforeTheEndMarkerAreTolerated() throws {
        let bytes = try Fixtures.bytes("rocket.jpg")
        try #require(bytes.suffix(2) == [0xFF, 0xD9])
        let padded: [UInt8] = Array(bytes[0..<(bytes.count - 2)]) + [0x12, 0x34, 0xFF, 0xD9]
        #expect(try ImageDecoder.decode(padded) == ImageDecoder.decode(bytes))
    }

    @Test func truncatedPNG() throws {
        let bytes = try Fixtures.bytes("chelsea.png")
        #expect { try ImageDecoder.decode(Array(bytes[0..<(bytes.count / 3)]), name: "cat.png") } throws: { error in
            let e = error as? PreprocessingError
            return e?.code == .corruptImage && e?.input == "cat.png"
        }
    }

    @Test func impossibleConfiguration() {
        #expect(throws: PreprocessingError.self) {
            try ImagePreprocess(.init(resize: .shorterSideThenCenterCrop(side: 200, width: 224, height: 224)))
        }
        #expect(throws: PreprocessingError.self) { try ImagePreprocess(.init(resize: .stretch(width: 0, height: 5))) }
        #expect(throws: PreprocessingError.self) { try ImagePreprocess(.init(mean: [0.5], std: [0.5])) }
        #expect(throws: PreprocessingError.self) { try ImagePreprocess(.init(std: [0.5, 0, 0.5])) }
    }
}

@Suite("RGBImage crops and tensors")
struct RGBImageTests {
    @Test func cropAndNormaliseASmallImage() throws {
        // 3x2 image, pixel (x, y) = (10x + y, 100 + x, 255).
        var pixels: [UInt8] = []
        for y in 0..<2 { for x in 0..<3 { pixels += [UInt8(10 * x + y), UInt8(100 + x), 255] } }
        let image = try RGBImage(width: 3, height: 2, pixels: pixels)
        let crop = try image.crop(x: 1, y: 1, width: 2, height: 1)
        #expect(crop.pixels == [11, 101, 255, 21, 102, 255])
        let tensor = try crop.normalizedTensor(mean: [0, 0, 0], std: [1, 1, 1])
        #expect(tensor.shape == [1, 3, 1, 2])
        #expect(tensor.float32Values == [11, 21, 101, 102, 255, 255].map { Float($0) / 255 })
        #expect(throws: PreprocessingError.self) { try image.crop(x: 2, y: 0, width: 2, height: 1) }
        #expect(throws: PreprocessingError.self) { try RGBImage(width: 2, height: 2, pixels: [0]) }
    }
}
