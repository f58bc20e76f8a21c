import Foundation
import TestSupport

/// The fenced code blocks of topics.md, in order: the language after the opening fence and the body.
struct TopicsExampleBlock {
    let language: String
    let body: String
    let line: Int

    static func all() throws -> [TopicsExampleBlock] {
        let text = try String(contentsOfFile: TestPaths.repository.appendingPathComponent("topics.md").path, encoding: .utf8)
        var blocks: [TopicsExampleBlock] = []
        var open: (language: String, line: Int, lines: [String])?
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if let current = open {
                    blocks.append(TopicsExampleBlock(language: current.language, body: current.lines.joined(separator: "\n"), line: current.line))
                    open = nil
                } else {
                    open = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), index + 1, [])
                }
            } else {
                open?.lines.append(line)
            }
        }
        return blocks
    }

    /// The first capture group of `pattern` in the body, at every match.
    func captures(_ pattern: String) -> [String] {
        let expression = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(body.startIndex..., in: body)
        return expression.matches(in: body, range: range).compactMap { match in
            Range(match.range(at: 1), in: body).map { String(body[$0]) }
        }
    }
}
