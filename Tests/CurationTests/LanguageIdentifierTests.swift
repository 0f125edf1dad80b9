import Curation
import FileErrors
import Foundation
import TestSupport
import XCTest

/// The language identifier trained on a few sentences per language written for this test (no fetched data): it
/// labels sentences it has not seen, its file round-trips exactly, and a damaged file is an error naming the file.
final class LanguageIdentifierTests: XCTestCase {
    /// Training sentences, about 150 words per language.
    static let training: [String: [String]] = [
        "en": [
            "The weather was cold this morning, so we stayed inside and read the newspaper.",
            "My brother works at the hospital near the river and comes home late every night.",
            "Would you like another cup of tea before the train leaves the station?",
            "They have been waiting for the bus since half past eight without any news.",
            "The children were playing in the garden while their father cooked dinner.",
            "She thought that the old house on the hill should have been sold years ago.",
            "We bought bread, cheese and apples at the market on the way through town.",
            "Nobody knows where the key of the kitchen door has gone, which is strange.",
            "If it rains tomorrow, the football match will probably be cancelled again.",
            "The teacher asked the students to write a short story about their holidays.",
        ],
        "de": [
            "Das Wetter war heute Morgen kalt, deshalb sind wir zu Hause geblieben und haben Zeitung gelesen.",
            "Mein Bruder arbeitet im Krankenhaus am Fluss und kommt jeden Abend spät nach Hause.",
            "Möchtest du noch eine Tasse Tee, bevor der Zug den Bahnhof verlässt?",
            "Sie warten schon seit halb neun auf den Bus und niemand sagt ihnen etwas.",
            "Die Kinder spielten im Garten, während ihr Vater das Abendessen kochte.",
            "Sie meinte, das alte Haus auf dem Hügel hätte man schon vor Jahren verkaufen sollen.",
            "Wir haben auf dem Markt Brot, Käse und Äpfel gekauft, bevor wir weitergefahren sind.",
            "Niemand weiß, wo der Schlüssel für die Küchentür geblieben ist, und das ist seltsam.",
            "Wenn es morgen regnet, wird das Fußballspiel wahrscheinlich wieder abgesagt.",
            "Die Lehrerin bat die Schüler, eine kurze Geschichte über ihre Ferien zu schreiben.",
        ],
        "fr": [
            "Il faisait froid ce matin, alors nous sommes restés à la maison pour lire le journal.",
            "Mon frère travaille à l'hôpital près de la rivière et rentre tard tous les soirs.",
            "Voulez-vous encore une tasse de thé avant que le train quitte la gare ?",
            "Ils attendent le bus depuis huit heures et demie et personne ne leur dit rien.",
            "Les enfants jouaient dans le jardin pendant que leur père préparait le dîner.",
            "Elle pensait qu'on aurait dû vendre la vieille maison sur la colline il y a des années.",
            "Nous avons acheté du pain, du fromage et des pommes au marché en traversant la ville.",
            "Personne ne sait où est passée la clé de la porte de la cuisine, c'est bizarre.",
            "S'il pleut demain, le match de football sera sans doute encore annulé.",
            "La maîtresse a demandé aux élèves d'écrire une petite histoire sur leurs vacances.",
        ],
        "es": [
            "Hacía frío esta mañana, así que nos quedamos en casa leyendo el periódico.",
            "Mi hermano trabaja en el hospital junto al río y vuelve tarde todas las noches.",
            "¿Quieres otra taza de té antes de que el tren salga de la estación?",
            "Llevan esperando el autobús desde las ocho y media y nadie les dice nada.",
            "Los niños jugaban en el jardín mientras su padre preparaba la cena.",
            "Ella pensaba que la vieja casa de la colina se tendría que haber vendido hace años.",
            "Compramos pan, queso y manzanas en el mercado cuando cruzábamos el pueblo.",
            "Nadie sabe dónde está la llave de la puerta de la cocina, y eso es muy raro.",
            "Si mañana llueve, seguramente volverán a suspender el partido de fútbol.",
            "La profesora pidió a los alumnos que escribieran un cuento corto sobre sus vacaciones.",
        ],
        "it": [
            "Stamattina faceva freddo, così siamo rimasti a casa a leggere il giornale.",
            "Mio fratello lavora all'ospedale vicino al fiume e torna tardi tutte le sere.",
            "Vuoi un'altra tazza di tè prima che il treno parta dalla stazione?",
            "Aspettano l'autobus dalle otto e mezza e nessuno dice loro niente.",
            "I bambini giocavano in giardino mentre il loro padre cucinava la cena.",
            "Lei pensava che la vecchia casa sulla collina si sarebbe dovuta vendere anni fa.",
            "Abbiamo comprato pane, formaggio e mele al mercato attraversando il paese.",
            "Nessuno sa dove sia finita la chiave della porta della cucina, ed è strano.",
            "Se domani piove, la partita di calcio sarà probabilmente annullata di nuovo.",
            "La maestra ha chiesto agli alunni di scrivere un breve racconto sulle vacanze.",
        ],
    ]

    /// Sentences none of the training sentences contain, two per language.
    static let unseen: [(text: String, label: String)] = [
        ("I would rather walk to the village than wait for another hour in the rain.", "en"),
        ("Their neighbours have bought a new car, but they hardly ever drive it.", "en"),
        ("Ich würde lieber ins Dorf laufen, als noch eine Stunde im Regen zu warten.", "de"),
        ("Ihre Nachbarn haben sich ein neues Auto gekauft, fahren aber fast nie damit.", "de"),
        ("Je préférerais marcher jusqu'au village plutôt que d'attendre encore une heure sous la pluie.", "fr"),
        ("Leurs voisins ont acheté une nouvelle voiture, mais ils ne la conduisent presque jamais.", "fr"),
        ("Preferiría ir andando al pueblo antes que esperar otra hora bajo la lluvia.", "es"),
        ("Sus vecinos se han comprado un coche nuevo, pero casi nunca lo conducen.", "es"),
        ("Preferirei andare a piedi fino al paese piuttosto che aspettare un'altra ora sotto la pioggia.", "it"),
        ("I loro vicini hanno comprato una macchina nuova, ma non la guidano quasi mai.", "it"),
    ]

    /// A small model: 2¹² buckets keep the test's tables small; the behaviour does not depend on the size.
    static let smallConfiguration = LanguageIdentifier.Configuration(buckets: 1 << 12, maxOrder: 4, smoothing: 0.1)

    static func trainedModel(_ configuration: LanguageIdentifier.Configuration = smallConfiguration) -> LanguageIdentifier {
        var trainer = LanguageIdentifierTrainer(configuration: configuration)
        for (label, sentences) in training.sorted(by: { $0.key < $1.key }) {
            for sentence in sentences { trainer.add(sentence, label: label) }
        }
        return trainer.model()!
    }

    func testLabelsSentencesItHasNotSeen() {
        let model = Self.trainedModel()
        XCTAssertEqual(model.labels, ["de", "en", "es", "fr", "it"])
        for (text, label) in Self.unseen {
            let prediction = model.predict(text)
            XCTAssertEqual(prediction.label, label, text)
            XCTAssertGreaterThan(prediction.confidence, 0.9, text)
        }
    }

    func testConfidenceIsThePosteriorOfTheTopLabel() throws {
        let model = Self.trainedModel()
        let text = Self.unseen[0].text
        let posteriors = model.posteriors(text)
        XCTAssertEqual(posteriors.reduce(0, +), 1, accuracy: 1e-12)
        let prediction = model.predict(text)
        XCTAssertEqual(prediction.confidence, posteriors.max())
        XCTAssertEqual(prediction.label, model.labels[posteriors.firstIndex(of: posteriors.max()!)!])
        // No letters, no n-grams: the posterior is the prior, (documents + 1) / (all documents + labels) = 11 / 55.
        let prior = model.predict("1234 -- 5678 !!")
        XCTAssertEqual(prior.confidence, 11.0 / 55.0, accuracy: 1e-12)
    }

    func testTrainingDoesNotDependOnTheOrderOfTheTexts() {
        var trainer = LanguageIdentifierTrainer(configuration: Self.smallConfiguration)
        for (label, sentences) in Self.training.sorted(by: { $0.key > $1.key }) {
            for sentence in sentences.reversed() { trainer.add(sentence, label: label) }
        }
        let reordered = trainer.model()!
        let model = Self.trainedModel()
        XCTAssertEqual(reordered.labels, model.labels)
        XCTAssertEqual(reordered.documentCounts, model.documentCounts)
        XCTAssertEqual(reordered.counts, model.counts)
    }

    /// The normalisation and hash are the file format: the published FNV-1a test vector, and the buckets of a short
    /// text computed here from the definition (scalars last to first, four little-endian bytes each).
    func testNGramsAreLowercasedLettersHashedWithFNV1a() {
        XCTAssertEqual(CharacterNGrams.fnv1a("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(String(String.UnicodeScalarView(CharacterNGrams.normalizedScalars("Don't STOP, 42 times!"))),
                       " don t stop times ")

        func reference(_ ngram: [Unicode.Scalar], buckets: UInt64) -> Int {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for scalar in ngram.reversed() {
                for shift in stride(from: 0, to: 32, by: 8) {
                    hash = (hash ^ UInt64((scalar.value >> UInt32(shift)) & 0xff)) &* 0x100_0000_01b3
                }
            }
            return Int((hash ^ (hash >> 32)) & (buckets - 1))
        }
        let scalars: [Unicode.Scalar] = [" ", "é", "t", " "]
        var expected: [Int] = []
        for end in scalars.indices {
            for order in 1...3 where end - order + 1 >= 0 {
                let ngram = Array(scalars[(end - order + 1)...end])
                if ngram != [" "] { expected.append(reference(ngram, buckets: 1 << 10)) }
            }
        }
        var buckets: [Int] = []
        let reported = CharacterNGrams(buckets: 1 << 10, maxOrder: 3).forEachBucket(in: "Ét") { buckets.append($0) }
        XCTAssertEqual(buckets, expected)
        XCTAssertEqual(reported, 7)   // "é", " é", "t", "ét", " ét", "t ", "ét "
    }

    func testFileRoundTripGivesIdenticalPredictions() throws {
        let model = Self.trainedModel(.init())   // the default size, 2¹⁸ buckets
        let url = try makeTemporaryDirectory().appendingPathComponent("model.langid")
        try model.write(to: url)
        let loaded = try LanguageIdentifier.load(from: url)
        XCTAssertEqual(loaded.configuration, model.configuration)
        XCTAssertEqual(loaded.labels, model.labels)
        XCTAssertEqual(loaded.documentCounts, model.documentCounts)
        XCTAssertEqual(loaded.counts, model.counts)
        for (text, _) in Self.unseen { XCTAssertEqual(loaded.posteriors(text), model.posteriors(text), text) }
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        XCTAssertLessThan(size - 5 * (1 << 18) * 4, 1024, "the file is the counts and a short header")
    }

    func testTruncatedFileIsAnErrorNamingIt() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("model.langid")
        try Self.trainedModel().write(to: url)
        let bytes = try Data(contentsOf: url)
        for (length, words) in [(5, "not a language identifier"), (40, "truncated"), (bytes.count - 1, "truncated"),
                                (bytes.count / 2, "truncated")] {
            try bytes.prefix(length).write(to: url)
            assertLoadFails(url, mentioning: words, "cut to \(length) bytes")
        }
        try (bytes + Data([0, 0, 0, 0])).write(to: url)
        assertLoadFails(url, mentioning: "4 bytes too many", "4 bytes appended")
    }

    func testCorruptHeaderIsAnErrorNamingIt() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("model.langid")
        try Self.trainedModel().write(to: url)
        let bytes = try Data(contentsOf: url)
        let headerLength = Int(bytes.subdata(in: 8..<16).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let header = String(decoding: bytes.subdata(in: 16..<(16 + headerLength)), as: UTF8.self)
        let counts = bytes.subdata(in: (16 + headerLength)..<bytes.count)

        func write(header: String, declaredLength: UInt64? = nil) throws {
            var data = Data("LANGID01".utf8)
            withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { data.append(contentsOf: $0) }
            data.append(Data(header.utf8))
            data.append(counts)
            try data.write(to: url)
        }
        let cases: [(String, String, String)] = [
            (header.replacingOccurrences(of: "\"buckets\":4096", with: "\"buckets\":1099511627776"), "buckets", "huge buckets"),
            (header.replacingOccurrences(of: "\"buckets\":4096", with: "\"buckets\":4095"), "power of two", "odd buckets"),
            (header.replacingOccurrences(of: "\"buckets\":4096", with: "\"buckets\":8192"), "truncated", "more buckets than stored"),
            (header.replacingOccurrences(of: "\"de\",", with: ""), "document counts", "a label removed"),
            (header.replacingOccurrences(of: "\"de\"", with: "\"zz\""), "sorted", "labels out of order"),
            (header.replacingOccurrences(of: "fnv1a64", with: "xxh64"), "n-grams", "another hash"),
            (header.replacingOccurrences(of: "\"labels\"", with: "\"languages\""), "no 'labels'", "a missing key"),
            (header.replacingOccurrences(of: "{", with: "["), "not valid JSON", "not JSON"),
        ]
        for (corrupted, words, what) in cases {
            XCTAssertNotEqual(corrupted, header, "the case '\(what)' must change the header")
            try write(header: corrupted)
            assertLoadFails(url, mentioning: words, what)
        }
        try write(header: header, declaredLength: 1 << 40)
        assertLoadFails(url, mentioning: "header length", "a huge declared header")
    }

    func testTrainsFromJSONLAndScoresTheHeldOutPartChosenByTextHash() throws {
        let directory = try makeTemporaryDirectory()
        var lines: [String] = []
        for (label, sentences) in Self.training.sorted(by: { $0.key < $1.key }) {
            for sentence in sentences { lines.append(try jsonLine(["text": sentence, "meta": ["lang": label, "source": "test"]])) }
        }
        for (text, label) in Self.unseen { lines.append(try jsonLine(["text": text, "meta": ["lang": label]])) }
        lines.append(try jsonLine(["text": "~~~ 42 ~~~", "meta": ["lang": "en"]]))
        let url = directory.appendingPathComponent("docs.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)

        var options = LanguageIdentifierTraining.Options()
        options.configuration = Self.smallConfiguration
        options.heldOutFraction = 0.3
        let report = try LanguageIdentifierTraining.train(files: [url], options: options)

        let all = Self.training.flatMap { label, sentences in sentences.map { ($0, label) } } + Self.unseen.map { ($0.text, $0.label) }
        let heldOut = all.filter { LanguageIdentifierTraining.isHeldOut($0.0, fraction: 0.3) }
        XCTAssertGreaterThan(heldOut.count, 5, "the split must hold something out for the test to mean anything")
        XCTAssertLessThan(heldOut.count, 25)
        XCTAssertEqual(report.heldOutDocuments, heldOut.count)
        XCTAssertEqual(report.scores.map(\.trainingDocuments).reduce(0, +), all.count - heldOut.count)
        XCTAssertEqual(report.withoutLetters, 1)
        for score in report.scores {
            XCTAssertEqual(score.heldOutDocuments, heldOut.filter { $0.1 == score.label }.count, score.label)
        }
        XCTAssertEqual(report.accuracy, 1, report.table())
        XCTAssertTrue(report.table().contains("all"), report.table())
    }

    func testMinimumDocumentsLeavesSmallLabelsOut() throws {
        var examples = Self.training.flatMap { label, sentences in sentences.map { (text: $0, label: label) } }
        examples.append((text: "Is fearr rith maith ná droch sheasamh.", label: "ga"))
        var options = LanguageIdentifierTraining.Options()
        options.configuration = Self.smallConfiguration
        options.heldOutFraction = 0
        options.minimumDocuments = 2
        let report = try LanguageIdentifierTraining.train(examples: examples, options: options)
        XCTAssertEqual(report.model.labels, ["de", "en", "es", "fr", "it"])
        XCTAssertEqual(report.excluded.map(\.label), ["ga"])
        XCTAssertTrue(report.table().contains("ga 1"), report.table())
    }

    /// With (nearly) everything held out, every label still gets a row, of smoothing only: the held-out documents
    /// are scored against labels the model cannot tell apart, and all but the first label's are mistakes.
    func testALabelWithNoTrainingDocumentIsStillScored() throws {
        let examples = Self.training.flatMap { label, sentences in sentences.map { (text: $0, label: label) } }
        var options = LanguageIdentifierTraining.Options()
        options.configuration = Self.smallConfiguration
        options.heldOutFraction = 0.999_999
        let report = try LanguageIdentifierTraining.train(examples: examples, options: options)
        XCTAssertEqual(report.scores.map(\.trainingDocuments), [0, 0, 0, 0, 0])
        XCTAssertEqual(report.heldOutDocuments, 50)
        XCTAssertEqual(report.scores.map(\.correct), [10, 0, 0, 0, 0], "equal priors and no counts: the first label wins")
        XCTAssertEqual(report.mistakes.count, 40)
        XCTAssertTrue(report.mistakes.allSatisfy { $0.predicted == "de" && $0.label != "de" })
    }

    func testDocumentWithoutTheLabelIsAnErrorNamingTheFileAndLine() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("docs.jsonl")
        let lines = [try jsonLine(["text": "Hello there.", "meta": ["lang": "en"]]),
                     try jsonLine(["text": "Bonjour.", "meta": ["source": "x"]])]
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        XCTAssertThrowsError(try LanguageIdentifierTraining.labelledTexts(in: url, labelField: "lang")) { error in
            XCTAssertEqual("\(error)", "\(url.path): cannot read the labelled documents: line 2: no 'lang' label (in meta or at the top level)")
        }
        XCTAssertThrowsError(try LanguageIdentifierTraining.labelledTexts(in: url, labelField: "meta.source")) { error in
            XCTAssertTrue("\(error)".hasSuffix("line 1: no 'source' label (in meta)"), "\(error)")
        }
    }

    private func jsonLine(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    private func assertLoadFails(_ url: URL, mentioning words: String, _ what: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LanguageIdentifier.load(from: url), what, file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(url.path): cannot read the language identifier: "), "\(what): \(message)",
                          file: file, line: line)
            XCTAssertTrue(message.contains(words), "\(what): '\(message)' should mention '\(words)'", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "\(what): one line", file: file, line: line)
        }
    }
}
