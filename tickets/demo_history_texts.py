"""What the customers of the demo's history write about, and what the agents answer (``demo_history``)."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.demo import BILLING, TECH


@dataclass(frozen=True)
class Topic:
    team: str
    subject: str
    opening: str
    follow_up: str
    answers: tuple[str, str]  # the first answer, and the one after the customer's follow-up
    tags: tuple[str, ...]
    weight: int = 6  # how often it comes up, against the others
    urgent: bool = False  # the demo's "Urgenze" rule gives it the around-the-clock policy


TOPICS: tuple[Topic, ...] = (
    Topic(
        BILLING,
        "Fattura di marzo",
        "Buongiorno, non trovo la fattura di marzo nella mia area clienti. Potete inviarmela?",
        "Grazie, ma serve intestata alla mia ditta individuale, con la partita IVA.",
        (
            "Buongiorno, gliel'ho appena inviata per email: la trova anche nell'area clienti.",
            "Ho rifatto la fattura con i dati della ditta: è nella sua area clienti.",
        ),
        ("fatturazione",),
    ),
    Topic(
        BILLING,
        "Richiesta di rimborso",
        "Ho restituito il prodotto due settimane fa: quando arriva il rimborso?",
        "Il corriere dice consegnato il 4, a voi risulta?",
        (
            "Il reso è arrivato: il rimborso parte oggi e lo vedrà sulla carta in 3-5 giorni lavorativi.",
            "Sì, risulta consegnato: il rimborso è già stato disposto.",
        ),
        ("rimborso",),
    ),
    Topic(
        BILLING,
        "Addebito doppio",
        "Mi avete addebitato due volte lo stesso ordine, controllate per favore.",
        "Vedo ancora entrambi i movimenti sull'estratto conto.",
        (
            "Ha ragione, il secondo addebito è un errore: l'abbiamo stornato.",
            "Lo storno compare di solito entro due giorni lavorativi, a seconda della banca.",
        ),
        ("pagamenti",),
    ),
    Topic(
        BILLING,
        "Cambio metodo di pagamento",
        "Vorrei passare dal bonifico alla carta per i prossimi rinnovi. Come faccio?",
        "Fatto, ma la carta risulta ancora in verifica.",
        (
            "Dal profilo, alla voce Pagamenti, può aggiungere la carta e impostarla come predefinita.",
            "La verifica richiede qualche minuto: ora risulta attiva.",
        ),
        ("pagamenti",),
    ),
    Topic(
        BILLING,
        "Invoice in English",
        "Hello, could you send me the invoice in English for my company's accounts?",
        "Thanks! Could you also add our VAT number?",
        (
            "Hello, of course: the English invoice is now in your account area.",
            "Done: the invoice now shows your VAT number.",
        ),
        ("fatturazione", "english"),
        weight=2,
    ),
    Topic(
        BILLING,
        "Pagamento bloccato, urgente",
        "Urgente: il pagamento dell'ordine è bloccato e la consegna è prevista domani.",
        "Ancora bloccato, potete sbloccarlo a mano?",
        (
            "Abbiamo sbloccato il pagamento: l'ordine parte regolarmente.",
            "Sbloccato a mano, confermo la consegna di domani.",
        ),
        ("pagamenti",),
        weight=2,
        urgent=True,
    ),
    Topic(
        TECH,
        "Password dimenticata",
        "Non riesco più ad accedere: il link per reimpostare la password non arriva.",
        "Arrivato, era nello spam. Però ora dice che il link è scaduto.",
        (
            "Le ho inviato un nuovo link: controlli anche nella cartella spam.",
            "Il link vale un'ora: gliene ho mandato un altro adesso.",
        ),
        ("accesso",),
    ),
    Topic(
        TECH,
        "L'app si chiude all'avvio",
        "Dopo l'ultimo aggiornamento l'app si chiude appena la apro.",
        "Ho un Android 12, Samsung.",
        (
            "Ci dice modello del telefono e versione del sistema? Intanto provi a svuotare la cache.",
            "Grazie: è un problema noto su quei modelli, la versione corretta è uscita oggi.",
        ),
        ("app",),
    ),
    Topic(
        TECH,
        "Router senza connessione",
        "Da stamattina il router ha la spia rossa e non navighiamo.",
        "Ho fatto il reset ma la spia è ancora rossa.",
        (
            "Tenga premuto Reset per 10 secondi e attenda due minuti che si riavvii.",
            "Abbiamo riconfigurato la linea da remoto: ora dovrebbe essere verde.",
        ),
        ("rete",),
    ),
    Topic(
        TECH,
        "Notifiche non arrivano",
        "Non ricevo più le notifiche dell'app sul telefono.",
        "Le notifiche sono attive nelle impostazioni, ma niente.",
        (
            "Controlli che le notifiche siano attive in Impostazioni > App > Sportello.",
            "Esca e rientri nell'app: il token delle notifiche si rinnova all'accesso.",
        ),
        ("app",),
    ),
    Topic(
        TECH,
        "Export dei dati",
        "Come posso scaricare tutti i miei ordini in un file?",
        "Trovato, grazie. Si può avere anche in Excel?",
        (
            "Da Profilo > Ordini c'è il pulsante Esporta: scarica un file CSV.",
            "Il CSV si apre direttamente con Excel, anche con i caratteri accentati.",
        ),
        ("account",),
    ),
    Topic(
        TECH,
        "Login problem",
        "Hi, I can't log in since yesterday: it says my account is locked.",
        "Still locked, I'm afraid.",
        (
            "Hi, the account was locked after too many attempts: it is unlocked now.",
            "Sorry about that: I've unlocked it again and reset the counter.",
        ),
        ("accesso", "english"),
        weight=2,
    ),
    Topic(
        TECH,
        "App bloccata, urgente",
        "Urgente: l'app è bloccata sul caricamento e non possiamo ricevere ordini.",
        "Ancora bloccata anche dopo il riavvio.",
        (
            "Abbiamo trovato il guasto sul nostro server e lo stiamo risolvendo ora.",
            "Il servizio è ripristinato: ci scusiamo per il disagio.",
        ),
        ("app",),
        weight=2,
        urgent=True,
    ),
)

REOPENING = (
    "Il problema si è ripresentato, potete ricontrollare?",
    "Scusate, riapro: non è ancora a posto.",
    "Sorry, it happened again this morning.",
)
REOPEN_ANSWER = "Ci scusiamo: abbiamo ricontrollato e sistemato anche questo. Ci riscriva se serve."

FIRST_NAMES = (
    "Luca", "Sara", "Marco", "Giulia", "Matteo", "Elena", "Davide", "Martina", "Simone", "Chiara",
    "Andrea", "Valentina", "Stefano", "Federica", "Roberto", "Silvia", "Fabio", "Laura", "Nicola",
    "Alessia", "Emma", "James", "Olivia", "Pietro", "Irene", "Tommaso", "Beatrice", "Riccardo", "Noemi",
)  # fmt: skip
LAST_NAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
    "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi",
    "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli",
    "Martini", "Leone", "Longo", "Gentile", "Martinelli", "Vitale", "Smith", "Brown", "Serra",
)  # fmt: skip
