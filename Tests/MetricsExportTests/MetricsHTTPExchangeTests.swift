import MetricsExport
import Testing

@Suite struct MetricsHTTPExchangeTests {
    private func head(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: [
        ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", MetricsHTTPExchange.Request.metrics),
        ("GET /metrics?name[]=a HTTP/1.1\r\n\r\n", .metrics),
        ("HEAD /metrics HTTP/1.0\r\n\r\n", .metrics),
        ("GET / HTTP/1.1\r\n\r\n", .index),
        ("GET /other HTTP/1.1\r\n\r\n", .notFound(path: "/other")),
        ("POST /metrics HTTP/1.1\r\n\r\n", .methodNotAllowed(method: "POST")),
        ("GET /metrics\r\n\r\n", .malformed),
        ("GET metrics HTTP/1.1\r\n\r\n", .malformed),
        ("\u{16}\u{03}\u{01} garbage", .malformed),
        ("", .malformed),
    ])
    func requestLineIsRead(text: String, expected: MetricsHTTPExchange.Request) {
        #expect(MetricsHTTPExchange.parse(head(text)) == expected)
    }

    @Test func headIsCompleteOnlyAfterTheEmptyLine() {
        #expect(!MetricsHTTPExchange.isComplete(head("GET /metrics HTTP/1.1\r\nHost: x\r\n")))
        #expect(MetricsHTTPExchange.isComplete(head("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")))
        #expect(!MetricsHTTPExchange.isComplete([]))
    }

    @Test func metricsResponseCarriesTheExpositionWithItsLength() {
        let body = Array("s2m3_x_total 3\n".utf8)
        let response = String(decoding: MetricsHTTPExchange.response(to: .metrics) { body }, as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(response.contains("Content-Length: \(body.count)\r\n"))
        #expect(response.contains("Connection: close\r\n"))
        #expect(response.hasSuffix("\r\n\r\ns2m3_x_total 3\n"))
    }

    @Test func headResponseHasNoBody() {
        let response = String(decoding: MetricsHTTPExchange.response(to: .metrics, includeBody: false) { Array("abc".utf8) }, as: UTF8.self)
        #expect(response.contains("Content-Length: 3\r\n"))
        #expect(response.hasSuffix("\r\n\r\n"))
        #expect(MetricsHTTPExchange.isHead(head("HEAD /metrics HTTP/1.1\r\n\r\n")))
        #expect(!MetricsHTTPExchange.isHead(head("GET /metrics HTTP/1.1\r\n\r\n")))
    }

    @Test func otherRequestsGetTheirStatusAndNoExposition() {
        var called = false
        for (request, status) in [
            (MetricsHTTPExchange.Request.notFound(path: "/x"), "404 Not Found"), (.methodNotAllowed(method: "PUT"), "405 Method Not Allowed"),
            (.malformed, "400 Bad Request"), (.index, "200 OK"),
        ] {
            let response = String(decoding: MetricsHTTPExchange.response(to: request) { called = true; return [] }, as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.1 \(status)\r\n"))
        }
        #expect(!called)
        let notAllowed = String(decoding: MetricsHTTPExchange.response(to: .methodNotAllowed(method: "PUT")) { [] }, as: UTF8.self)
        #expect(notAllowed.contains("Allow: GET, HEAD\r\n"))
    }
}
