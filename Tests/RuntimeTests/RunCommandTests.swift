import Foundation
import S2M3Core
import TestSupport
import Testing

extension RuntimeSuites {
    /// The built `s2m3 run` (next to this test bundle) end to end: inputs from files, JSON result, errors.
    @Suite("s2m3 run")
    struct RunCommandTests {
        let fixture = RuntimeFixture.shared

        func run(_ arguments: [String]) throws -> (status: Int32, output: Data, error: String) {
            let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            let executable = testBundle.deletingLastPathComponent().appendingPathComponent("s2m3").path
            try #require(FileManager.default.isExecutableFile(atPath: executable), "build s2m3 first (swift build --build-tests)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments + [
                "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path, "--models", fixture.modelsDirectory,
            ]
            let output = Pipe(), error = Pipe()
            process.standardOutput = output
            process.standardError = error
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, data, message)
        }

        @Test("voice-command --json: the TaskResult picks the spoken command from the default list; a corrupt image is badInput")
        func voiceCommandJSONAndBadImage() throws {
            let audio = fixture.fixtures.appendingPathComponent("cmd-stop-line.wav").path
            let (status, data, error) = try run(["run", "voice-command", "--audio", audio, "--json"])
            #expect(status == 0, "\(error)")
            let result = try JSONDecoder().decode(TaskResult.self, from: data)
            try result.validate()
            guard case .labels(let match)? = result.outputs["match"] else { Issue.record("no match: \(result.outputs)"); return }
            #expect(match.first?.label == "stop the line")
            #expect(result.timeline.count == 11 && result.timeline.allSatisfy { $0.device == "local" })

            let corrupt = NSTemporaryDirectory() + "corrupt-\(UUID().uuidString).jpg"
            try Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x42, count: 200)).write(to: URL(fileURLWithPath: corrupt))
            defer { try? FileManager.default.removeItem(atPath: corrupt) }
            let bad = try run(["run", "classify-image", "--image", corrupt])
            #expect(bad.status != 0)
            #expect(bad.error.contains("badInput") && bad.error.contains("'file'"), "\(bad.error)")
        }
    }
}
