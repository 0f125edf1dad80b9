/// The words the labelled subsets are made of: Speech Commands v1 keywords, and small everyday vocabularies per
/// language for language identification (phrases are random word sequences plus numbers, which espeak-ng reads
/// out in the voice's language, so any espeak-ng language works even without a list here).
public enum WordLists {
    /// The ten Speech Commands v1 keywords (Warden 2018, "Speech Commands", §3); with `silence` and `unknown`
    /// they make the 12 classes of the SUPERB KS task.
    public static let keywords = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    public static let silenceLabel = "_silence_"
    public static let unknownLabel = "_unknown_"
    /// The twelve keyword-spotting labels in the order of Speech Commands v1 (keywords, silence, unknown).
    public static let keywordClasses = keywords + [silenceLabel, unknownLabel]
    /// The v1 auxiliary words, which form the `unknown` class.
    public static let unknownWords = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
                                      "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
                                      "wow", "zero"]

    /// The languages of the default corpus (espeak-ng voice names).
    public static let defaultLanguages = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]
    /// Nine Indian languages espeak-ng speaks, the multilingual study's (IndicWav2Vec, Javed et al. 2022).
    public static let indicLanguages = ["hi", "bn", "ta", "te", "mr", "gu", "kn", "ml", "pa"]

    /// Everyday words per language (espeak-ng voice name → words), about forty each.
    public static let vocabulary: [String: [String]] = [
        "en": ["house", "water", "bread", "morning", "evening", "friend", "window", "garden", "river", "city",
               "small", "green", "quickly", "always", "never", "today", "tomorrow", "please", "thank you", "table",
               "mother", "father", "school", "market", "summer", "winter", "coffee", "music", "street", "doctor",
               "yellow", "open", "close", "read", "write", "travel", "together", "beautiful", "kitchen", "station"],
        "de": ["Haus", "Wasser", "Brot", "Morgen", "Abend", "Freund", "Fenster", "Garten", "Fluss", "Stadt",
               "klein", "grün", "schnell", "immer", "niemals", "heute", "morgen", "bitte", "danke", "Tisch",
               "Mutter", "Vater", "Schule", "Markt", "Sommer", "Winter", "Kaffee", "Musik", "Straße", "Arzt",
               "gelb", "öffnen", "schließen", "lesen", "schreiben", "reisen", "zusammen", "schön", "Küche", "Bahnhof"],
        "fr": ["maison", "eau", "pain", "matin", "soir", "ami", "fenêtre", "jardin", "rivière", "ville",
               "petit", "vert", "vite", "toujours", "jamais", "aujourd'hui", "demain", "s'il vous plaît", "merci",
               "table", "mère", "père", "école", "marché", "été", "hiver", "café", "musique", "rue", "médecin",
               "jaune", "ouvrir", "fermer", "lire", "écrire", "voyager", "ensemble", "beau", "cuisine", "gare"],
        "es": ["casa", "agua", "pan", "mañana", "tarde", "amigo", "ventana", "jardín", "río", "ciudad",
               "pequeño", "verde", "rápido", "siempre", "nunca", "hoy", "por favor", "gracias", "mesa", "madre",
               "padre", "escuela", "mercado", "verano", "invierno", "café", "música", "calle", "médico", "amarillo",
               "abrir", "cerrar", "leer", "escribir", "viajar", "juntos", "hermoso", "cocina", "estación", "noche"],
        "it": ["casa", "acqua", "pane", "mattina", "sera", "amico", "finestra", "giardino", "fiume", "città",
               "piccolo", "verde", "veloce", "sempre", "mai", "oggi", "domani", "per favore", "grazie", "tavolo",
               "madre", "padre", "scuola", "mercato", "estate", "inverno", "caffè", "musica", "strada", "medico",
               "giallo", "aprire", "chiudere", "leggere", "scrivere", "viaggiare", "insieme", "bello", "cucina",
               "stazione"],
        "nl": ["huis", "water", "brood", "ochtend", "avond", "vriend", "raam", "tuin", "rivier", "stad",
               "klein", "groen", "snel", "altijd", "nooit", "vandaag", "morgen", "alstublieft", "dank je", "tafel",
               "moeder", "vader", "school", "markt", "zomer", "winter", "koffie", "muziek", "straat", "dokter",
               "geel", "openen", "sluiten", "lezen", "schrijven", "reizen", "samen", "mooi", "keuken", "station"],
        "pt": ["casa", "água", "pão", "manhã", "tarde", "amigo", "janela", "jardim", "rio", "cidade",
               "pequeno", "verde", "rápido", "sempre", "nunca", "hoje", "amanhã", "por favor", "obrigado", "mesa",
               "mãe", "pai", "escola", "mercado", "verão", "inverno", "café", "música", "rua", "médico",
               "amarelo", "abrir", "fechar", "ler", "escrever", "viajar", "juntos", "bonito", "cozinha", "estação"],
        "pl": ["dom", "woda", "chleb", "rano", "wieczór", "przyjaciel", "okno", "ogród", "rzeka", "miasto",
               "mały", "zielony", "szybko", "zawsze", "nigdy", "dzisiaj", "jutro", "proszę", "dziękuję", "stół",
               "matka", "ojciec", "szkoła", "rynek", "lato", "zima", "kawa", "muzyka", "ulica", "lekarz",
               "żółty", "otwierać", "zamykać", "czytać", "pisać", "podróżować", "razem", "piękny", "kuchnia",
               "dworzec"],
        // Not a default language: the new language of the continued pre-training study (--pretrain-language fi
        // --pr-language fi), whose phonology English lacks (front rounded vowels, length contrasts).
        "fi": ["talo", "vesi", "leipä", "aamu", "ilta", "ystävä", "ikkuna", "puutarha", "joki", "kaupunki",
               "pieni", "vihreä", "nopeasti", "aina", "ei koskaan", "tänään", "huomenna", "ole hyvä", "kiitos", "pöytä",
               "äiti", "isä", "koulu", "tori", "kesä", "talvi", "kahvi", "musiikki", "katu", "lääkäri",
               "keltainen", "avata", "sulkea", "lukea", "kirjoittaa", "matkustaa", "yhdessä", "kaunis", "keittiö",
               "rautatieasema", "järvi", "metsä", "sauna", "lumi", "yö", "käsi", "työ", "hyvää päivää"],
        // Indian languages (IndicWav2Vec's), in their own scripts; espeak-ng reads each with its own voice.
        "hi": ["पानी", "घर", "रोटी", "सुबह", "शाम", "दोस्त", "खिड़की", "बगीचा", "नदी", "शहर",
               "छोटा", "हरा", "जल्दी", "हमेशा", "आज", "कल", "कृपया", "धन्यवाद", "मेज़", "माँ",
               "पिता", "स्कूल", "बाज़ार", "गर्मी", "सर्दी", "संगीत", "सड़क", "डॉक्टर", "पीला", "खोलो",
               "पढ़ना", "लिखना", "यात्रा", "साथ", "सुंदर", "रसोई", "स्टेशन"],
        "bn": ["জল", "বাড়ি", "রুটি", "সকাল", "সন্ধ্যা", "বন্ধু", "জানালা", "বাগান", "নদী", "শহর",
               "ছোট", "সবুজ", "তাড়াতাড়ি", "সবসময়", "আজ", "আগামীকাল", "ধন্যবাদ", "টেবিল", "মা", "বাবা",
               "স্কুল", "বাজার", "গ্রীষ্ম", "শীত", "গান", "রাস্তা", "ডাক্তার", "হলুদ", "পড়া", "লেখা",
               "ভ্রমণ", "একসাথে", "সুন্দর", "রান্নাঘর"],
        "ta": ["தண்ணீர்", "வீடு", "ரொட்டி", "காலை", "மாலை", "நண்பன்", "ஜன்னல்", "தோட்டம்", "ஆறு", "நகரம்",
               "சிறிய", "பச்சை", "விரைவாக", "எப்போதும்", "இன்று", "நாளை", "தயவுசெய்து", "நன்றி", "மேசை", "அம்மா",
               "அப்பா", "பள்ளி", "சந்தை", "கோடை", "குளிர்காலம்", "இசை", "தெரு", "மருத்துவர்", "மஞ்சள்", "படி",
               "எழுது", "பயணம்", "ஒன்றாக", "அழகான", "சமையலறை"],
        "te": ["నీళ్ళు", "ఇల్లు", "రొట్టె", "ఉదయం", "సాయంత్రం", "స్నేహితుడు", "కిటికీ", "తోట", "నది", "నగరం",
               "చిన్న", "పచ్చ", "త్వరగా", "ఎప్పుడూ", "ఈరోజు", "రేపు", "దయచేసి", "ధన్యవాదాలు", "బల్ల", "అమ్మ",
               "నాన్న", "బడి", "సంత", "వేసవి", "చలికాలం", "సంగీతం", "వీధి", "వైద్యుడు", "పసుపు", "చదువు",
               "రాయి", "ప్రయాణం", "కలిసి", "అందమైన", "వంటగది"],
        "mr": ["पाणी", "घर", "भाकरी", "सकाळ", "संध्याकाळ", "मित्र", "खिडकी", "बाग", "नदी", "शहर",
               "लहान", "हिरवा", "लवकर", "नेहमी", "आज", "उद्या", "कृपया", "धन्यवाद", "टेबल", "आई",
               "वडील", "शाळा", "बाजार", "उन्हाळा", "हिवाळा", "संगीत", "रस्ता", "डॉक्टर", "पिवळा", "वाचणे",
               "लिहिणे", "प्रवास", "एकत्र", "सुंदर", "स्वयंपाकघर"],
        "gu": ["પાણી", "ઘર", "રોટલી", "સવાર", "સાંજ", "મિત્ર", "બારી", "બગીચો", "નદી", "શહેર",
               "નાનું", "લીલું", "ઝડપથી", "હંમેશા", "આજે", "કાલે", "આભાર", "ટેબલ", "મા", "પિતા",
               "શાળા", "બજાર", "ઉનાળો", "શિયાળો", "સંગીત", "રસ્તો", "ડૉક્ટર", "પીળું", "વાંચવું", "લખવું",
               "પ્રવાસ", "સાથે", "સુંદર", "રસોડું"],
        "kn": ["ನೀರು", "ಮನೆ", "ರೊಟ್ಟಿ", "ಬೆಳಿಗ್ಗೆ", "ಸಂಜೆ", "ಸ್ನೇಹಿತ", "ಕಿಟಕಿ", "ತೋಟ", "ನದಿ", "ನಗರ",
               "ಚಿಕ್ಕ", "ಹಸಿರು", "ಬೇಗ", "ಯಾವಾಗಲೂ", "ಇಂದು", "ನಾಳೆ", "ದಯವಿಟ್ಟು", "ಧನ್ಯವಾದ", "ಮೇಜು", "ಅಮ್ಮ",
               "ಅಪ್ಪ", "ಶಾಲೆ", "ಮಾರುಕಟ್ಟೆ", "ಬೇಸಿಗೆ", "ಚಳಿಗಾಲ", "ಸಂಗೀತ", "ರಸ್ತೆ", "ವೈದ್ಯ", "ಹಳದಿ", "ಓದು",
               "ಬರೆ", "ಪ್ರಯಾಣ", "ಒಟ್ಟಿಗೆ", "ಸುಂದರ", "ಅಡುಗೆಮನೆ"],
        "ml": ["വെള്ളം", "വീട്", "റൊട്ടി", "രാവിലെ", "വൈകുന്നേരം", "സുഹൃത്ത്", "ജനൽ", "തോട്ടം", "പുഴ", "നഗരം",
               "ചെറിയ", "പച്ച", "വേഗം", "എപ്പോഴും", "ഇന്ന്", "നാളെ", "ദയവായി", "നന്ദി", "മേശ", "അമ്മ",
               "അച്ഛൻ", "സ്കൂൾ", "ചന്ത", "വേനൽ", "മഴ", "സംഗീതം", "തെരുവ്", "ഡോക്ടർ", "മഞ്ഞ", "വായിക്കുക",
               "എഴുതുക", "യാത്ര", "ഒരുമിച്ച്", "മനോഹരം", "അടുക്കള"],
        "pa": ["ਪਾਣੀ", "ਘਰ", "ਰੋਟੀ", "ਸਵੇਰ", "ਸ਼ਾਮ", "ਦੋਸਤ", "ਖਿੜਕੀ", "ਬਾਗ਼", "ਨਦੀ", "ਸ਼ਹਿਰ",
               "ਛੋਟਾ", "ਹਰਾ", "ਜਲਦੀ", "ਹਮੇਸ਼ਾ", "ਅੱਜ", "ਕੱਲ੍ਹ", "ਧੰਨਵਾਦ", "ਮੇਜ਼", "ਮਾਂ", "ਪਿਤਾ",
               "ਸਕੂਲ", "ਬਾਜ਼ਾਰ", "ਗਰਮੀ", "ਸਰਦੀ", "ਸੰਗੀਤ", "ਸੜਕ", "ਡਾਕਟਰ", "ਪੀਲਾ", "ਪੜ੍ਹਨਾ", "ਲਿਖਣਾ",
               "ਯਾਤਰਾ", "ਇਕੱਠੇ", "ਸੁੰਦਰ", "ਰਸੋਈ"],
    ]

    /// What a language-identification utterance says: three phrases in a row (six to fifteen words, 4–6 s). One
    /// phrase (1.5–2.3 s) left every representation near chance with ten examples a language: too little speech to
    /// hear a language's sounds in, where LID benchmarks give several seconds.
    public static func lidText(language: String, random: inout SeededRandom) -> String {
        (0..<3).map { _ in phrase(language: language, random: &random) }.joined(separator: ", ")
    }

    /// A phrase in `language`: two to five words of its vocabulary, a number in one phrase of three (read out
    /// by espeak-ng in that language); a language without a vocabulary gets two or three numbers.
    public static func phrase(language: String, random: inout SeededRandom) -> String {
        let number = { (random: inout SeededRandom) in String(1 + random.index(9999)) }
        guard let words = vocabulary[language] else {
            return (0..<(2 + random.index(2))).map { _ in number(&random) }.joined(separator: " ")
        }
        var parts = (0..<(2 + random.index(4))).map { _ in random.pick(words) }
        if random.index(3) == 0 { parts.insert(number(&random), at: random.index(parts.count + 1)) }
        return parts.joined(separator: " ")
    }
}
