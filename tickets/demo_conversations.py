"""The demo's customers and conversations, in the order they are filed.

A customer has at most one open ticket, so a customer's earlier conversation ends ``closed``
before their next one starts (which then becomes a follow-up ticket of the closed one).
"""

from __future__ import annotations

from dataclasses import dataclass

from tickets.models import Ticket


@dataclass(frozen=True)
class Customer:
    sender_id: str
    name: str
    email: str


@dataclass(frozen=True)
class Step:
    kind: str  # "in" (the customer writes), "reply" (an agent answers), "note" (internal note)
    text: str
    agent: str = ""


@dataclass(frozen=True)
class Conversation:
    key: str
    customer: str
    subject: str
    hours_ago: float
    team: str
    assignee: str | None
    status: str
    priority: int
    tags: tuple[str, ...]
    steps: tuple[Step, ...]


def _in(text: str) -> Step:
    return Step("in", text)


def _reply(agent: str, text: str) -> Step:
    return Step("reply", text, agent)


def _note(agent: str, text: str) -> Step:
    return Step("note", text, agent)


CUSTOMERS: dict[str, Customer] = {
    "maria": Customer("c-1001", "Maria Esposito", "maria.esposito@example.it"),
    "giuseppe": Customer("c-1002", "Giuseppe Romano", "g.romano@example.it"),
    "francesca": Customer("c-1003", "Francesca Colombo", "francesca.colombo@example.it"),
    "alessandro": Customer("c-1004", "Alessandro Ricci", "a.ricci@example.it"),
    "chiara": Customer("c-1005", "Chiara Marino", "chiara.marino@example.it"),
    "paolo": Customer("c-1006", "Paolo Greco", "paolo.greco@example.it"),
    "elena": Customer("c-1007", "Elena Bruno", "elena.bruno@example.it"),
    "james": Customer("c-1008", "James Walker", "james.walker@example.com"),
    "sophie": Customer("c-1009", "Sophie Martin", "sophie.martin@example.co.uk"),
    "daniel": Customer("c-1010", "Daniel Keller", "d.keller@example.de"),
}

_B = "Amministrazione"
_T = "Assistenza tecnica"
_S = Ticket.Status
_P = Ticket.Priority

CONVERSATIONS: tuple[Conversation, ...] = (
    # --- earlier, closed conversations ----------------------------------------------------------------
    Conversation(
        "fattura-doppia",
        "maria",
        "Fattura addebitata due volte",
        240,
        _B,
        "marco",
        _S.CLOSED,
        _P.HIGH,
        ("fatturazione", "rimborso"),
        (
            _in("Buongiorno, a marzo mi avete addebitato due volte la fattura n. 2291. Potete verificare?"),
            _reply(
                "marco",
                "Buongiorno Maria, ha ragione: il secondo addebito è un errore. "
                "Il rimborso partirà entro 3 giorni lavorativi.",
            ),
            _in("Perfetto, grazie mille!"),
        ),
    ),
    Conversation(
        "password-reset",
        "giuseppe",
        "Non riesco a reimpostare la password",
        200,
        _T,
        "luca",
        _S.CLOSED,
        _P.NORMAL,
        ("account",),
        (
            _in("La mail per reimpostare la password non arriva mai, ho controllato anche lo spam."),
            _note("luca", "Il dominio del cliente rifiutava i nostri invii: sbloccato dal fornitore SMTP."),
            _reply(
                "luca", "Abbiamo risolto un problema di consegna: riprovi ora, la mail dovrebbe arrivare."
            ),
            _in("Arrivata, tutto a posto."),
        ),
    ),
    Conversation(
        "invoice-vat",
        "james",
        "VAT number missing on invoice",
        180,
        _B,
        "giulia",
        _S.CLOSED,
        _P.NORMAL,
        ("invoicing",),
        (
            _in("Hi, our VAT number GB123456789 is missing from last month's invoice. Can you reissue it?"),
            _reply(
                "giulia",
                "Hi James, I've reissued the invoice with your VAT number; you'll find it "
                "in your account under Billing.",
            ),
        ),
    ),
    Conversation(
        "app-crash",
        "francesca",
        "L'app si chiude all'avvio",
        150,
        _T,
        "anna",
        _S.CLOSED,
        _P.HIGH,
        ("app", "bug"),
        (
            _in("Dopo l'ultimo aggiornamento l'app si chiude appena la apro (Android 14)."),
            _note("anna", "Stesso crash segnalato da altri due clienti: bug 4.2.0, fix nella 4.2.1."),
            _reply(
                "anna",
                "Grazie della segnalazione: la versione 4.2.1 corregge il problema, "
                "è già disponibile sul Play Store.",
            ),
            _in("Aggiornata, ora funziona."),
        ),
    ),
    Conversation(
        "delivery-uk",
        "sophie",
        "Parcel stuck in customs",
        120,
        _T,
        "luca",
        _S.CLOSED,
        _P.NORMAL,
        ("shipping",),
        (
            _in("My order has been stuck in UK customs for a week. Is there anything I need to do?"),
            _reply(
                "luca",
                "Hi Sophie, customs needed the commercial invoice: we've sent it and the "
                "courier expects to deliver within two days.",
            ),
        ),
    ),
    Conversation(
        "cambio-piano",
        "alessandro",
        "Passaggio al piano annuale",
        96,
        _B,
        "giulia",
        _S.CLOSED,
        _P.LOW,
        ("abbonamento",),
        (
            _in("Vorrei passare dal piano mensile a quello annuale: come funziona il conguaglio?"),
            _reply(
                "giulia",
                "Il mese in corso viene scalato dal prezzo annuale; può cambiare piano "
                "da Impostazioni > Abbonamento.",
            ),
        ),
    ),
    Conversation(
        "export-csv",
        "daniel",
        "CSV export has broken characters",
        80,
        _T,
        "anna",
        _S.CLOSED,
        _P.NORMAL,
        ("export", "bug"),
        (
            _in("When I export contacts to CSV, umlauts show up as garbage in Excel (Müller -> MÃ¼ller)."),
            _reply(
                "anna",
                "Excel needs a UTF-8 BOM to detect the encoding: the export now includes it. "
                "Please try again.",
            ),
            _in("Works now, thanks."),
        ),
    ),
    Conversation(
        "indirizzo",
        "chiara",
        "Cambio indirizzo di fatturazione",
        72,
        _B,
        "marco",
        _S.CLOSED,
        _P.LOW,
        ("fatturazione",),
        (
            _in("Ho cambiato sede: potete aggiornare l'indirizzo sulle prossime fatture?"),
            _reply("marco", "Fatto: dalla prossima fattura troverà il nuovo indirizzo di via Dante 12."),
        ),
    ),
    Conversation(
        "login-2fa",
        "paolo",
        "Codice di verifica non valido",
        60,
        _T,
        "luca",
        _S.CLOSED,
        _P.HIGH,
        ("account", "sicurezza"),
        (
            _in("Il codice a due fattori risulta sempre non valido."),
            _reply(
                "luca",
                "L'orologio del telefono era fuori sincrono di qualche minuto: attivi l'ora "
                "automatica e riprovi.",
            ),
        ),
    ),
    Conversation(
        "widget-sito",
        "elena",
        "Come inserisco la chat nel mio sito?",
        48,
        _T,
        "anna",
        _S.CLOSED,
        _P.NORMAL,
        ("chat", "onboarding"),
        (
            _in("Vorrei aggiungere la chat al sito del mio negozio: dove trovo il codice?"),
            _reply("anna", "In Impostazioni > Canali > Chat trova lo snippet da incollare prima di </body>."),
            _in("Fatto, la vedo. Grazie!"),
        ),
    ),
    # --- current conversations -------------------------------------------------------------------------
    Conversation(
        "rimborso-ritardo",
        "maria",
        "Rimborso non ancora ricevuto",
        30,
        _B,
        "marco",
        _S.OPEN,
        _P.HIGH,
        ("rimborso", "fatturazione"),
        (
            _in("Mi avevate promesso il rimborso entro 3 giorni ma non è ancora arrivato."),
            _note(
                "marco", "Il bonifico risulta partito ieri: chiedere conferma alla banca prima di rispondere."
            ),
            _reply(
                "marco",
                "Il bonifico è partito ieri: di solito serve un giorno lavorativo. "
                "Le scrivo appena ho la conferma della banca.",
            ),
            _in("Va bene, attendo."),
        ),
    ),
    Conversation(
        "sync-calendar",
        "giuseppe",
        "Il calendario non si sincronizza",
        20,
        _T,
        "luca",
        _S.PENDING,
        _P.NORMAL,
        ("integrazioni",),
        (
            _in("Gli appuntamenti creati su Google Calendar non compaiono più da ieri."),
            _reply(
                "luca",
                "Può scollegare e ricollegare l'account Google da Impostazioni > Integrazioni "
                "e dirmi se compare un errore?",
            ),
        ),
    ),
    Conversation(
        "seats",
        "james",
        "Adding five more seats",
        18,
        _B,
        None,
        _S.NEW,
        _P.NORMAL,
        ("sales", "upgrade"),
        (_in("We're growing: how do I add five more seats, and will the price be prorated?"),),
    ),
    Conversation(
        "notifiche",
        "francesca",
        "Notifiche push in ritardo",
        16,
        _T,
        "anna",
        _S.ON_HOLD,
        _P.NORMAL,
        ("app", "notifiche"),
        (
            _in("Le notifiche arrivano con 10-15 minuti di ritardo."),
            _note("anna", "In attesa del fornitore push: ticket aperto da loro, risposta attesa domani."),
            _reply("anna", "Abbiamo coinvolto il fornitore delle notifiche: la aggiorno appena risponde."),
        ),
    ),
    Conversation(
        "api-limit",
        "daniel",
        "API rate limit too low",
        12,
        _T,
        None,
        _S.NEW,
        _P.URGENT,
        ("api", "enterprise"),
        (
            _in("Our nightly sync hits HTTP 429 after 600 requests. We're on Enterprise; can you raise it?"),
            _in("This is blocking our month-end close, please treat it as urgent."),
        ),
    ),
    Conversation(
        "iban",
        "chiara",
        "Aggiornare l'IBAN per l'addebito",
        10,
        _B,
        "giulia",
        _S.SOLVED,
        _P.NORMAL,
        ("fatturazione", "sepa"),
        (
            _in("Ho cambiato banca: come aggiorno l'IBAN per l'addebito diretto?"),
            _reply(
                "giulia",
                "Le ho inviato il nuovo mandato SEPA da firmare: dal prossimo mese useremo il nuovo IBAN.",
            ),
            _in("Firmato e inviato, grazie."),
        ),
    ),
    Conversation(
        "stampa-pdf",
        "paolo",
        "Il PDF dell'ordine è vuoto",
        8,
        _T,
        "luca",
        _S.OPEN,
        _P.NORMAL,
        ("bug", "pdf"),
        (
            _in("Quando scarico il PDF di un ordine ottengo una pagina bianca."),
            _reply("luca", "Può dirmi quale browser usa? Stiamo verificando un problema con Safari."),
            _in("Safari 17 su Mac."),
        ),
    ),
    Conversation(
        "fattura-elettronica",
        "elena",
        "Fattura elettronica scartata dallo SDI",
        6,
        _B,
        None,
        _S.NEW,
        _P.HIGH,
        ("fatturazione", "sdi"),
        (_in("La fattura di febbraio è stata scartata dallo SDI con codice 00305. Cosa devo fare?"),),
    ),
    Conversation(
        "gdpr-export",
        "sophie",
        "Request for a copy of my data",
        5,
        _T,
        "anna",
        _S.OPEN,
        _P.NORMAL,
        ("privacy",),
        (
            _in("Under GDPR I'd like a copy of all the personal data you hold about me."),
            _note("anna", "Verify identity before sending the export (privacy procedure, step 2)."),
            _reply("anna", "Of course. For your security, please confirm the postcode on your account."),
        ),
    ),
    Conversation(
        "sconto-scuole",
        "alessandro",
        "Sconto per istituti scolastici",
        3,
        _B,
        "marco",
        _S.SOLVED,
        _P.LOW,
        ("abbonamento", "vendite"),
        (
            _in("Siamo una scuola pubblica: esiste uno sconto dedicato?"),
            _reply("marco", "Sì, il 30% sul piano annuale: le ho inviato il modulo per la richiesta."),
        ),
    ),
)
