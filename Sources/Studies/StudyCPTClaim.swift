import Foundation

/// The continual pre-training study's qualitative claims, judged on the measured numbers.
extension StudyClaim {
    /// The claims whose arms are present: replay, rewarming, and the infinite schedule against repeated cosine.
    public static func judge(_ arms: [StudyCPTArmResult]) -> [StudyClaim] {
        let byName = Dictionary(uniqueKeysWithValues: arms.map { ($0.name, $0) })
        var claims: [StudyClaim] = []
        func f(_ value: Double) -> String { String(format: "%+.4f", value) }
        // rewarm_1x is the replay-0 % arm: the replay arms differ from it only in the replay fraction.
        if let none = byName["rewarm_1x"], let most = byName["replay_25"] {
            claims.append(StudyClaim(statement: "replay 25 % forgets less than replay 0 %",
                                        holds: most.forgetting < none.forgetting,
                                        evidence: "forgetting \(f(most.forgetting)) vs \(f(none.forgetting))"))
        }
        if let constant = byName["no_rewarm"] {
            let rewarmed = arms.filter { $0.name.hasPrefix("rewarm_") }.sorted { $0.name < $1.name }
            if !rewarmed.isEmpty {
                let better = rewarmed.filter { $0.downstreamFinal < constant.downstreamFinal }
                claims.append(StudyClaim(
                    statement: "rewarming helps downstream loss (every rewarm peak ends below no rewarm)",
                    holds: better.count == rewarmed.count,
                    evidence: "downstream " + rewarmed.map { String(format: "%@ %.4f", $0.name, $0.downstreamFinal) }
                        .joined(separator: ", ") + String(format: " vs no rewarm %.4f", constant.downstreamFinal)))
            }
        }
        if let cosine = byName["repeated_cosine"], let infinite = byName["infinite_anneal"] {
            claims.append(StudyClaim(statement: "the infinite schedule (with its anneal) forgets no more than repeated cosine at equal tokens",
                                        holds: infinite.forgetting <= cosine.forgetting,
                                        evidence: "forgetting \(f(infinite.forgetting)) vs \(f(cosine.forgetting))"))
        }
        return claims
    }
}
