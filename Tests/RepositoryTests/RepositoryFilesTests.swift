import Foundation
import Testing
import TestSupport

/// Nothing half-merged is committed: no file of the repository holds a merge conflict marker.
@Suite("Repository files")
struct RepositoryFilesTests {
    @Test("no merge conflict markers in tracked files", .timeLimit(.minutes(1)))
    func noConflictMarkers() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // `git grep` over tracked files; exit 1 means nothing found.
        process.arguments = ["git", "-C", TestPaths.repository.path, "grep", "-n", "-E", "^(<<<<<<< |>>>>>>> |=======$)", "--", ".", ":!*.onnx"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let found = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "conflict markers:\n\(found)")
    }
}
