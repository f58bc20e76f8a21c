import Foundation
import Catalog
import Runtime
import S2M3Core
import TestSupport
import Testing

extension RuntimeSuites {
    /// Every task of catalog/default.json in one process, on the real models and fixtures.
    @Suite("Tasks in one process on the real models")
    struct TaskRunnerTests {
        let fixture = RuntimeFixture.shared

        static let catClasses: Set<String> = ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"]

        @Test("classify-image: the cat photo's top-1 is an ImageNet cat class; one timeline entry per node")
        func classifyCat() async throws {
            let result = try await fixture.run("classify-image", ["image": fixture.image("chelsea.jpg")])
            guard case .labels(let labels)? = result.outputs["top"] else { Issue.record("no labels: \(result.outputs)"); return }
            #expect(labels.count == 5)
            #expect(Self.catClasses.contains(labels[0].label), "top-1 \(labels[0].label)")
            #expect(labels[0].score > 0.5)
            #expect(zip(labels, labels.dropFirst()).allSatisfy { $0.score >= $1.score })
            #expect(result.timeline.map(\.node).sorted() == ["logits", "pixels", "top", "trunk"])
            #expect(result.timeline.allSatisfy { $0.device == "local" && $0.endMs >= $0.startMs && $0.queuedMs == 0 && $0.transferMs == 0 })
            #expect(result.totalMs >= (result.timeline.map(\.endMs).max() ?? 0))
            try result.validate()
        }

        @Test("transcribe: the spoken sentence with word error rate under 20 %")
        func transcribeSentence() async throws {
            let reference = try #require(try fixture.spokenTexts()["sentence-inspection.wav"])
            let result = try await fixture.run("transcribe", ["audio": fixture.audio("sentence-inspection.wav")])
            guard case .text(let text)? = result.outputs["transcript"] else { Issue.record("no text: \(result.outputs)"); return }
            let wer = wordErrorRate(text, reference: reference)
            #expect(wer < 0.2, "WER \(wer): '\(text)' vs '\(reference)'")
        }

        @Test("voice-command: each of the five spoken commands picks its command from the catalog's default list",
              arguments: ["cmd-turn-on-conveyor.wav", "cmd-stop-line.wav", "cmd-open-gate.wav", "cmd-start-camera.wav", "cmd-raise-alarm.wav"])
        func voiceCommand(file: String) async throws {
            let spoken = try #require(try fixture.spokenTexts()[file])
            let result = try await fixture.run("voice-command", ["audio": fixture.audio(file)])
            guard case .labels(let match)? = result.outputs["match"] else { Issue.record("no match: \(result.outputs)"); return }
            #expect(match.count == 5)
            #expect(match.first?.label == spoken, "\(file): \(match)")
            guard case .text(let transcript)? = result.outputs["transcript"] else { Issue.record("no transcript"); return }
            #expect(wordErrorRate(transcript, reference: spoken) == 0, "'\(transcript)'")
        }

        @Test("voice-command: a request's own command list replaces the default")
        func voiceCommandOwnList() async throws {
            let commands = ["halt everything", "open the gate please", "play music"]
            let result = try await fixture.run(
                "voice-command", ["audio": fixture.audio("cmd-open-gate.wav"), "commands": .texts(commands)])
            guard case .labels(let match)? = result.outputs["match"] else { Issue.record("no match"); return }
            #expect(match.map(\.label).sorted() == commands.sorted())
            #expect(match.first?.label == "open the gate please")
        }

        @Test("read-text: the words of the OCR page, line by line")
        func readText() async throws {
            let result = try await fixture.run("read-text", ["image": fixture.image("ocr-inspection.png")])
            guard case .texts(let lines)? = result.outputs["lines"] else { Issue.record("no lines: \(result.outputs)"); return }
            #expect(lines == ["INSPECTION LINE 42", "BATCH OK"])
        }

        @Test("match-image-text: the right caption ranks first for at least 4 of 5 photos")
        func matchImageText() async throws {
            let pairs = [
                ("chelsea.jpg", "a cat"), ("coffee.jpg", "a cup of espresso"), ("camera.png", "a cameraman"),
                ("motorcycle.png", "a scooter"), ("rocket.jpg", "a rocket on its launch pad"),
            ]
            let captions = pairs.map(\.1)
            var right = 0
            for (photo, caption) in pairs {
                let result = try await fixture.run("match-image-text", ["image": fixture.image(photo), "texts": .texts(captions)])
                guard case .labels(let ranked)? = result.outputs["scores"] else { Issue.record("no scores: \(result.outputs)"); return }
                #expect(ranked.map(\.label).sorted() == captions.sorted())
                if ranked.first?.label == caption { right += 1 }
            }
            #expect(right >= 4, "\(right) of 5 right")
        }

        @Test("label-bridge caches the 1000 × 384 label embeddings in the models folder")
        func labelEmbeddingsCached() async throws {
            _ = try await fixture.loaded().1.module("label-bridge")
            let files = try FileManager.default.contentsOfDirectory(atPath: fixture.modelsDirectory)
                .filter { $0.hasPrefix("label-embeddings-") && $0.hasSuffix(".f32") }
            let sizes = try files.map {
                try FileManager.default.attributesOfItem(atPath: fixture.modelsDirectory + "/" + $0)[.size] as? Int
            }
            #expect(sizes.contains(1000 * 384 * 4), "\(files) \(sizes)")
        }

        @Test("describe-scene: labels, transcript and a summary; the two branches overlap in time")
        func describeScene() async throws {
            let result = try await fixture.run(
                "describe-scene", ["image": fixture.image("chelsea.jpg"), "audio": fixture.audio("cmd-stop-line.wav")])
            guard case .labels(let labels)? = result.outputs["top"], case .text(let transcript)? = result.outputs["transcript"],
                  case .text(let summary)? = result.outputs["summary"]
            else { Issue.record("outputs: \(result.outputs)"); return }
            #expect(Self.catClasses.contains(labels.first?.label ?? ""))
            #expect(wordErrorRate(transcript, reference: "stop the line") == 0, "'\(transcript)'")
            #expect(summary.contains(labels[0].label) && summary.contains(transcript))
            let entries = Dictionary(uniqueKeysWithValues: result.timeline.map { ($0.node, $0) })
            // Both branches are dispatched at once: each branch starts before the other one ends (how
            // much their compute overlaps depends on the shared inference threads, busy with other tests).
            let image = (try #require(entries["pixels"]), try #require(entries["top"]))
            let audio = (try #require(entries["samples"]), try #require(entries["transcript"]))
            #expect(image.0.startMs < audio.1.endMs && audio.0.startMs < image.1.endMs, "image \(image) audio \(audio)")
            #expect(result.timeline.count == 11)
        }

        @Test("transcribe: silence around speech still transcribes; the VAD hears the speech")
        func vadHearsSpeech() async throws {
            let result = try await fixture.run("transcribe", ["audio": fixture.audio("vad-silence-speech-silence.wav")])
            guard case .text(let text)? = result.outputs["transcript"] else { Issue.record("no text"); return }
            #expect(wordErrorRate(text, reference: "open the gate") == 0, "'\(text)'")
        }
    }
}
