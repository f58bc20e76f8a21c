import Catalog
import Inference
import Preprocessing
import Speech
import TextReading

extension ModuleLoader {
    /// The `onnx` drivers besides `single-run` (docs/catalog.md).
    func driverModule(_ manifest: ModuleManifest, driver: String, session: InferenceSession) throws(ModuleError) -> any LoadedModule {
        switch driver {
        case "whisper-greedy":
            let tokens = try Self.whisperTokens(for: manifest, in: modelsDirectory)
            do {
                return WhisperGreedyModule(manifest: manifest, decoder: try WhisperGreedyDecoder(decoder: session, tokens: tokens))
            } catch {
                throw ModuleError(.missingFile, module: manifest.id, input: "whisper-tokens.txt", error.description)
            }
        case "vad-stream": return VADStreamModule(manifest: manifest, session: session)
        case "ocr-detect": return OCRDetectModule(manifest: manifest, session: session)
        case "ocr-orient": return OCROrientModule(manifest: manifest, session: session)
        case "ocr-recognise": return OCRRecogniseModule(manifest: manifest, session: session)
        default:
            throw ModuleError(.unknownModule, module: manifest.id, "no driver named '\(driver)' (see docs/catalog.md)")
        }
    }

    /// The built-in operation a `builtin` manifest names, with its assets read.
    func builtinModule(_ manifest: ModuleManifest) async throws(ModuleError) -> any LoadedModule {
        let operation: any BuiltinOperation
        switch manifest.operation ?? manifest.id {
        case "image-preprocess":
            let settings = try Self.settings(of: manifest) { () throws(CatalogError) in try ImagePreprocessSettings(manifest.settings) }
            operation = ImagePreprocessOperation(
                preprocess: try Self.make(manifest) { () throws(PreprocessingError) in try ImagePreprocess(settings.configuration) },
                bgr: settings.channelOrder == "bgr", maxPixels: limits.maxImagePixels)
        case "top-k": operation = TopKOperation(labels: try ModuleAssets.lines("imagenet-labels.txt", of: manifest))
        case "wordpiece-tokenize":
            let settings = try Self.settings(of: manifest) { () throws(CatalogError) in
                try TokenizerSettings(manifest.settings, assets: manifest.assetPaths, defaultVocabulary: "bert-vocab.txt")
            }
            let path = try ModuleAssets.path(settings.vocabulary, of: manifest)
            operation = WordPieceOperation(tokenizer: try Self.make(manifest, file: path) { () throws(PreprocessingError) in
                try WordPieceTokenizer(vocabularyFile: path, configuration: .init(maxLength: settings.maxLength))
            })
        case "clip-tokenize":
            let settings = try Self.settings(of: manifest) { () throws(CatalogError) in
                try TokenizerSettings(manifest.settings, assets: manifest.assetPaths, defaultVocabulary: "vocab.json",
                                      defaultMaxLength: 77, defaultMerges: "merges.txt")
            }
            let vocabulary = try ModuleAssets.path(settings.vocabulary, of: manifest)
            let merges = try ModuleAssets.path(settings.merges ?? "merges.txt", of: manifest)
            let tokenizer = try Self.make(manifest, file: vocabulary) { () throws(PreprocessingError) in
                try BPETokenizer(vocabularyFile: vocabulary, mergesFile: merges, configuration: .init(maxLength: settings.maxLength))
            }
            operation = TokenizeOperation(encode: tokenizer.encode, pad: tokenizer.padID, typeIDs: false)
        case "tokenizer-json":
            let settings = try Self.settings(of: manifest) { () throws(CatalogError) in
                try TokenizerSettings(manifest.settings, assets: manifest.assetPaths, defaultVocabulary: "tokenizer.json", defaultMaxLength: 512)
            }
            let path = try ModuleAssets.path(settings.vocabulary, of: manifest)
            let tokenizer = try Self.make(manifest, file: path) { () throws(PreprocessingError) in
                try HuggingFaceTokenizer(file: path, maxLength: settings.maxLength)
            }
            operation = TokenizeOperation(encode: tokenizer.encode, pad: tokenizer.padID,
                                          typeIDs: manifest.callOutputs.contains { $0.name == "token_type_ids" })
        case "softmax-texts": operation = SoftmaxTextsOperation()
        case "label-bridge": operation = LabelBridgeOperation(labelEmbeddings: try await LabelEmbeddings.load(for: manifest, loader: self))
        case "cosine-match": operation = CosineMatchOperation()
        case "wav-decode": operation = WAVDecodeOperation(maxSeconds: limits.maxAudioSeconds)
        case "log-mel":
            operation = LogMelOperation(frontEnd: try Self.make(manifest) { () throws(PreprocessingError) in try LogMelSpectrogram(.whisper) })
        case "whisper-detokenize": operation = WhisperDetokenizeOperation(tokens: try Self.whisperTokens(for: manifest, in: modelsDirectory))
        case "ocr-preprocess": operation = OCRPreprocessOperation(maxPixels: limits.maxImagePixels)
        case "ocr-crop": operation = OCRCropOperation(maxPixels: limits.maxImagePixels)
        case "ctc-decode": operation = CTCDecodeOperation(decoder: CTCDecoder(characters: try ModuleAssets.lines("ocr-keys.txt", of: manifest)))
        case "combine": operation = CombineOperation()
        case let name:
            throw ModuleError(.unknownModule, module: manifest.id, "no built-in operation '\(name)' (see docs/catalog.md)")
        }
        return BuiltinModule(manifest: manifest, operation: operation, pool: threadPool)
    }

    /// A built-in's settings as its type (validated when the catalog was loaded; a failure here is a
    /// manifest built without the catalog).
    private static func settings<T>(of manifest: ModuleManifest, _ body: () throws(CatalogError) -> T) throws(ModuleError) -> T {
        do { return try body() } catch { throw ModuleError(.unknownModule, module: manifest.id, error.description) }
    }

    private static func make<T>(
        _ manifest: ModuleManifest, file: String? = nil, _ body: () throws(PreprocessingError) -> T
    ) throws(ModuleError) -> T {
        do { return try body() } catch {
            throw ModuleError(file == nil ? .runFailed : .missingFile, module: manifest.id, input: file, error.description)
        }
    }

    /// `whisper-tokens.txt`: the built-in's asset, or (for the decoder driver) the file in the models folder.
    static func whisperTokens(for manifest: ModuleManifest, in modelsDirectory: String) throws(ModuleError) -> WhisperTokenTable {
        let text: String
        if manifest.kind == .builtin {
            text = try ModuleAssets.text("whisper-tokens.txt", of: manifest)
        } else {
            let path = modelsDirectory + "/whisper-tokens.txt"
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ModuleError(.missingFile, module: manifest.id, input: path, "\(path) is missing: run scripts/setup.sh or check --models")
            }
            text = contents
        }
        do { return try WhisperTokenTable(text: text) } catch {
            throw ModuleError(.missingFile, module: manifest.id, input: "whisper-tokens.txt", error.description)
        }
    }
}
