//! English and Spanish for everything a customer sees: a small message
//! catalog. The language comes from `?lang=` (remembered in a cookie), then
//! the cookie, then `Accept-Language`; English otherwise.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::convert::Infallible;

/// Cookie that remembers the visitor's choice.
pub(crate) const LANG_COOKIE: &str = "aqueduct-lang";

/// A language the customer pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language.
    #[cfg(test)]
    pub(crate) const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// BCP 47 code (`lang` attribute, `?lang=`).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The message for `key`; the key itself when missing (the catalog
    /// test makes sure none is).
    pub(crate) fn t(self, key: &str) -> &'static str {
        let table = match self {
            Lang::En => EN,
            Lang::Es => ES,
        };
        table
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("(missing text)", |(_, v)| v)
    }

    /// From the query string, cookie and `Accept-Language`.
    pub(crate) fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query.and_then(query_lang) {
            return l;
        }
        if let Some(l) = cookie_lang(headers) {
            return l;
        }
        accept_language(headers).unwrap_or_default()
    }
}

fn query_lang(q: &str) -> Option<Lang> {
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| Lang::parse(v))
}

/// The first supported language in `Accept-Language`, by quality.
fn accept_language(headers: &HeaderMap) -> Option<Lang> {
    let raw = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(u16, Lang)> = None;
    for item in raw.split(',') {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(Lang::parse) else {
            continue;
        };
        // Quality in thousandths, no floats: "q=0.8" → 800.
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, parse_quality);
        if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

fn parse_quality(q: &str) -> u16 {
    let (int, frac) = q.trim().split_once('.').unwrap_or((q.trim(), ""));
    if int == "1" {
        return 1000;
    }
    if int != "0" {
        return 0;
    }
    let digits: String = frac.chars().take(3).collect();
    let padded = format!("{digits:0<3}");
    padded.parse().unwrap_or(0)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Lang::negotiate(parts.uri.query(), &parts.headers))
    }
}

/// Remembers `?lang=xx` in a cookie so the next pages keep the language.
pub(crate) async fn remember(req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(query_lang);
    let mut res = next.run(req).await;
    if let Some(l) = chosen
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// English.
const EN: &[(&str, &str)] = &[
    ("skip", "Skip to main content"),
    ("language", "Language"),
    ("powered", "Online billing by Aqueduct"),
    ("nav.home", "Pay a bill"),
    ("nav.contact", "Contact"),
    ("nav.privacy", "Privacy policy"),
    ("nav.security", "Security"),
    ("nav.staff", "Staff sign-in"),
    (
        "suspended",
        "Online service for this association is temporarily unavailable. Please contact the association's office.",
    ),
    ("notice", "Notice from your water association"),
    ("home.title", "Pay your water bill"),
    (
        "home.intro",
        "Find your bill with your account number and the ZIP code of the address where you get water. No sign-in needed.",
    ),
    ("home.account", "Account number"),
    (
        "home.account_hint",
        "It is printed at the top of your bill.",
    ),
    ("home.zip", "Service ZIP code"),
    ("home.find", "Find my bill"),
    (
        "home.no_match",
        "We could not find a bill with that account number and ZIP code. Check both and try again, or contact the office.",
    ),
    (
        "home.throttled",
        "Too many attempts. Please wait a few minutes and try again.",
    ),
    (
        "home.unavailable",
        "Online payments are not available right now. Please contact the office to pay.",
    ),
    ("bill.title", "Your bill"),
    ("bill.account", "Account"),
    ("bill.due", "Amount due"),
    (
        "bill.nothing_due",
        "Nothing is due on this account right now. You can still pay ahead.",
    ),
    ("pay.legend", "How much do you want to pay?"),
    ("pay.full", "The full amount due"),
    ("pay.other", "Another amount"),
    ("pay.other_label", "Amount in dollars"),
    ("pay.min", "At least $1.00."),
    (
        "pay.how",
        "On the next page you pay by card or bank account on Stripe's secure payment page. We never see your card or bank details.",
    ),
    ("pay.submit", "Continue to secure payment"),
    ("autopay.title", "Autopay"),
    (
        "autopay.how",
        "Save a card or bank account on Stripe's secure page and each bill is paid automatically on its due date. We never see your card or bank details. To change the card or bank, set it up again; to stop, call the office.",
    ),
    ("autopay.submit", "Set up autopay"),
    (
        "autopay.failed",
        "We could not start autopay. Please try again in a moment.",
    ),
    (
        "pay.bad_amount",
        "Enter an amount of at least $1.00, like 25.00.",
    ),
    (
        "pay.failed",
        "We could not start the payment. Please try again in a moment.",
    ),
    ("receipt.title", "Payment receipt"),
    ("receipt.amount", "Amount"),
    ("receipt.status", "Status"),
    ("receipt.reference", "Reference"),
    ("receipt.paid", "Paid. Thank you!"),
    (
        "receipt.processing",
        "Processing. Bank payments take a few business days to settle; your balance shows it once it does.",
    ),
    (
        "receipt.pending",
        "Waiting for confirmation from the payment processor. This page updates by itself.",
    ),
    (
        "receipt.failed",
        "This payment did not go through. No money was taken.",
    ),
    ("receipt.balance", "Balance now"),
    ("receipt.back", "Back to paying a bill"),
    ("receipt.check", "Check again"),
    ("contact.title", "Contact"),
    ("contact.phone", "Phone"),
    ("contact.email", "Email"),
    ("contact.address", "Office"),
    (
        "contact.none",
        "This association has not published contact details yet.",
    ),
    ("privacy.title", "Privacy policy"),
    ("privacy.collect_h", "Data we collect"),
    (
        "privacy.collect",
        "Account information (name, service and mailing address, contact details) for billing; usage data (meter reads, water consumption, billing history); payment information only as our payment processor, Stripe, holds it.",
    ),
    ("privacy.use_h", "How we use it"),
    (
        "privacy.use",
        "To process water bill payments, for customer support and billing assistance, to send billing notifications, and to improve the service.",
    ),
    ("privacy.share_h", "Sharing"),
    (
        "privacy.share",
        "Your data is never sold. It is shared only with your water association, the payment processor, and legal authorities when the law requires it.",
    ),
    ("privacy.keep_h", "How long we keep it"),
    (
        "privacy.keep",
        "Account information is kept while the account is active and for 7 years after it is closed; payment records for 7 years; usage data for billing and service improvement. After that, personal data is erased or anonymised automatically, except under a legal hold.",
    ),
    ("privacy.who", "Data controller for your account:"),
    ("security.title", "Security statement"),
    ("security.cards_h", "No card data, ever"),
    (
        "security.cards",
        "Card and bank details go straight from your browser to Stripe's hosted payment page. We keep only Stripe's references, the last 4 digits and the card brand.",
    ),
    ("security.connect_h", "Your money goes to your association"),
    (
        "security.connect",
        "Every association has its own Stripe account. Your payment lands in your association's balance and is paid out to its bank.",
    ),
    ("security.tls_h", "Encrypted connections"),
    (
        "security.tls",
        "Every connection is encrypted (TLS), and our pages tell browsers to always use HTTPS.",
    ),
    ("security.access_h", "Access controls"),
    (
        "security.access",
        "Staff of one association can never see another association's data; every sensitive action is written to an audit log that cannot be changed.",
    ),
    ("security.backup_h", "Backups"),
    (
        "security.backup",
        "Data is backed up on a schedule, encrypted before it leaves the server, and restores are tested.",
    ),
    ("unsubscribe.title", "Unsubscribe"),
    (
        "unsubscribe.confirm",
        "Stop these emails? Bills, receipts and notices about your service keep coming.",
    ),
    ("unsubscribe.what", "Emails"),
    ("unsubscribe.account", "Account"),
    ("unsubscribe.button", "Unsubscribe"),
    (
        "unsubscribe.done",
        "Done: you will no longer get these emails. You can turn them back on in your notification preferences.",
    ),
    (
        "unsubscribe.essential",
        "These emails are essential (bills, receipts, notices about your service) and cannot be turned off.",
    ),
    ("unsubscribe.kind.due_reminder", "Due-date reminders"),
    (
        "unsubscribe.kind.autopay_upcoming",
        "Upcoming autopay notices",
    ),
    ("unsubscribe.kind.high_usage", "High water use alerts"),
    ("unsubscribe.kind.essential", "Essential notices"),
    ("cust.account.back", "Back to this account"),
    ("cust.accounts.back", "All my accounts"),
    (
        "cust.accounts.none",
        "No account is linked to your sign-in yet. Add one below with its account number and service ZIP code.",
    ),
    ("cust.accounts.title", "My water accounts"),
    ("cust.amount", "Amount"),
    ("cust.balance", "Balance due"),
    ("cust.bill_no", "Bill no."),
    ("cust.bills.none", "No bills yet."),
    ("cust.bills.title", "Bill history"),
    (
        "cust.confirm.intro",
        "Press the button to sign in. The link works once.",
    ),
    ("cust.confirm.title", "Sign in with your link"),
    ("cust.current_bill", "Current bill"),
    ("cust.date", "Date"),
    ("cust.due_on", "Due date"),
    ("cust.email", "Email"),
    ("cust.error.email", "Please enter a valid email address."),
    (
        "cust.error.link",
        "This sign-in link is invalid, used or expired. Ask for a new one below.",
    ),
    (
        "cust.error.credentials",
        "The email or password is incorrect.",
    ),
    (
        "cust.error.throttled",
        "Too many attempts. Please wait a few minutes and try again.",
    ),
    (
        "cust.error.invalid",
        "Please check what you entered and try again.",
    ),
    ("cust.export", "Download my data"),
    ("cust.forgot", "Set or reset my password"),
    (
        "cust.high_usage.text",
        "Your latest bill shows much higher water use than usual. Please check for leaks (toilets, outdoor taps, irrigation).",
    ),
    ("cust.high_usage.title", "High water use."),
    ("cust.holder", "Account holder"),
    (
        "cust.home.signin",
        "Sign in to see your bills, payments and water use",
    ),
    ("cust.language.default", "The association's default"),
    ("cust.link.button", "Email me a sign-in link"),
    (
        "cust.link.intro",
        "No password? We can email you a link that signs you in once.",
    ),
    (
        "cust.link.sent",
        "If that email can sign in here, we sent it a sign-in link. It works once, within 15 minutes.",
    ),
    ("cust.link.title", "Sign in without a password"),
    ("cust.link_account.button", "Add this account"),
    (
        "cust.link_account.intro",
        "Prove an account is yours with its account number and service ZIP code (both are on your bill).",
    ),
    ("cust.link_account.title", "Add an account"),
    ("cust.notifications", "Email me about"),
    ("cust.off", "Off"),
    ("cust.on", "On"),
    ("cust.paperless", "Paperless billing"),
    ("cust.paperless.off", "Mail me paper bills"),
    ("cust.paperless.on", "Email my bills instead of paper"),
    ("cust.password", "Password"),
    ("cust.payments.none", "No payments yet."),
    ("cust.payments.title", "Payment history"),
    ("cust.period", "Billing period"),
    ("cust.period_end", "Period ending"),
    ("cust.save", "Save settings"),
    ("cust.saved", "Your settings were saved."),
    ("cust.autopay.link", "Autopay"),
    ("cust.autopay.title", "Autopay"),
    ("cust.autopay.back", "Back to the account"),
    ("cust.autopay.on", "Autopay is on with"),
    ("cust.autopay.off", "Autopay is off for this account."),
    ("cust.autopay.next", "Next charge"),
    ("cust.autopay.offer.title", "Keep autopay on this account"),
    (
        "cust.autopay.offer.text",
        "Autopay on your closed account pays with the card or bank account saved for account",
    ),
    (
        "cust.autopay.consent",
        "I agree that this association charges the same card or bank account for this account's bills on their due dates. I can turn autopay off at any time.",
    ),
    ("cust.autopay.keep", "Keep autopay"),
    (
        "cust.autopay.need_consent",
        "Tick the box to agree; without it autopay does not move.",
    ),
    (
        "cust.autopay.moved",
        "Autopay is on for this account with the same card or bank account. Autopay on your old account has ended.",
    ),
    (
        "cust.autopay.none",
        "There is no autopay to move to this account.",
    ),
    (
        "cust.autopay.banner",
        "You can keep autopay on this account with the card or bank account of your closed account.",
    ),
    ("cust.settings.title", "Settings"),
    ("cust.signed_in_as", "Signed in as"),
    ("cust.signin.button", "Sign in"),
    ("cust.signin.prompt", "Already have a sign-in? Sign in"),
    ("cust.signin.title", "Sign in to your water account"),
    ("cust.signout", "Sign out"),
    ("cust.signup.button", "Email me a link to finish"),
    (
        "cust.signup.intro",
        "Enter your email. We send you a link that confirms the address and signs you in; then add your account with its number and service ZIP code.",
    ),
    ("cust.signup.prompt", "New here? Create a sign-in"),
    ("cust.signup.title", "Create a sign-in"),
    ("cust.status", "Status"),
    ("cust.usage.none", "No water use recorded yet."),
    ("cust.usage.table", "Show the numbers as a table"),
    ("cust.usage.title", "Water use, last 13 bills"),
    ("cust.use", "Use"),
];

/// Spanish.
const ES: &[(&str, &str)] = &[
    ("skip", "Saltar al contenido principal"),
    ("language", "Idioma"),
    ("powered", "Facturación en línea con Aqueduct"),
    ("nav.home", "Pagar una factura"),
    ("nav.contact", "Contacto"),
    ("nav.privacy", "Política de privacidad"),
    ("nav.security", "Seguridad"),
    ("nav.staff", "Acceso del personal"),
    (
        "suspended",
        "El servicio en línea de esta asociación no está disponible por el momento. Comuníquese con la oficina de la asociación.",
    ),
    ("notice", "Aviso de su asociación de agua"),
    ("home.title", "Pague su factura de agua"),
    (
        "home.intro",
        "Busque su factura con su número de cuenta y el código postal de la dirección donde recibe el agua. No necesita iniciar sesión.",
    ),
    ("home.account", "Número de cuenta"),
    (
        "home.account_hint",
        "Aparece en la parte superior de su factura.",
    ),
    ("home.zip", "Código postal del servicio"),
    ("home.find", "Buscar mi factura"),
    (
        "home.no_match",
        "No encontramos una factura con ese número de cuenta y código postal. Revise ambos e inténtelo de nuevo, o comuníquese con la oficina.",
    ),
    (
        "home.throttled",
        "Demasiados intentos. Espere unos minutos e inténtelo de nuevo.",
    ),
    (
        "home.unavailable",
        "Los pagos en línea no están disponibles ahora. Comuníquese con la oficina para pagar.",
    ),
    ("bill.title", "Su factura"),
    ("bill.account", "Cuenta"),
    ("bill.due", "Saldo a pagar"),
    (
        "bill.nothing_due",
        "No hay saldo pendiente en esta cuenta. Aun así puede pagar por adelantado.",
    ),
    ("pay.legend", "¿Cuánto desea pagar?"),
    ("pay.full", "El saldo total"),
    ("pay.other", "Otra cantidad"),
    ("pay.other_label", "Cantidad en dólares"),
    ("pay.min", "Al menos $1.00."),
    (
        "pay.how",
        "En la página siguiente paga con tarjeta o cuenta bancaria en la página de pago segura de Stripe. Nunca vemos los datos de su tarjeta ni de su banco.",
    ),
    ("pay.submit", "Continuar al pago seguro"),
    ("autopay.title", "Pago automático"),
    (
        "autopay.how",
        "Guarde una tarjeta o cuenta bancaria en la página segura de Stripe y cada factura se pagará automáticamente en su fecha de vencimiento. Nunca vemos los datos de su tarjeta o cuenta. Para cambiar la tarjeta o la cuenta, configúrelo de nuevo; para dejarlo, llame a la oficina.",
    ),
    ("autopay.submit", "Configurar el pago automático"),
    (
        "autopay.failed",
        "No pudimos iniciar el pago automático. Inténtelo de nuevo en un momento.",
    ),
    (
        "pay.bad_amount",
        "Escriba una cantidad de al menos $1.00, por ejemplo 25.00.",
    ),
    (
        "pay.failed",
        "No pudimos iniciar el pago. Inténtelo de nuevo en un momento.",
    ),
    ("receipt.title", "Recibo de pago"),
    ("receipt.amount", "Cantidad"),
    ("receipt.status", "Estado"),
    ("receipt.reference", "Referencia"),
    ("receipt.paid", "Pagado. ¡Gracias!"),
    (
        "receipt.processing",
        "En proceso. Los pagos bancarios tardan unos días hábiles; su saldo lo mostrará cuando se acrediten.",
    ),
    (
        "receipt.pending",
        "Esperando la confirmación del procesador de pagos. Esta página se actualiza sola.",
    ),
    (
        "receipt.failed",
        "Este pago no se completó. No se cobró dinero.",
    ),
    ("receipt.balance", "Saldo actual"),
    ("receipt.back", "Volver a pagar una factura"),
    ("receipt.check", "Comprobar de nuevo"),
    ("contact.title", "Contacto"),
    ("contact.phone", "Teléfono"),
    ("contact.email", "Correo electrónico"),
    ("contact.address", "Oficina"),
    (
        "contact.none",
        "Esta asociación todavía no ha publicado sus datos de contacto.",
    ),
    ("privacy.title", "Política de privacidad"),
    ("privacy.collect_h", "Datos que recopilamos"),
    (
        "privacy.collect",
        "Información de la cuenta (nombre, dirección de servicio y postal, datos de contacto) para la facturación; datos de uso (lecturas del medidor, consumo de agua, historial de facturas); la información de pago solo tal como la guarda nuestro procesador de pagos, Stripe.",
    ),
    ("privacy.use_h", "Cómo los usamos"),
    (
        "privacy.use",
        "Para procesar pagos de facturas de agua, dar atención al cliente y ayuda con la facturación, enviar avisos de facturación y mejorar el servicio.",
    ),
    ("privacy.share_h", "Con quién los compartimos"),
    (
        "privacy.share",
        "Sus datos nunca se venden. Solo se comparten con su asociación de agua, el procesador de pagos y las autoridades cuando la ley lo exige.",
    ),
    ("privacy.keep_h", "Cuánto tiempo los guardamos"),
    (
        "privacy.keep",
        "La información de la cuenta se guarda mientras la cuenta está activa y 7 años después de cerrarla; los registros de pago, 7 años; los datos de uso, para la facturación y la mejora del servicio. Después, los datos personales se borran o se anonimizan automáticamente, salvo retención legal.",
    ),
    ("privacy.who", "Responsable de los datos de su cuenta:"),
    ("security.title", "Declaración de seguridad"),
    ("security.cards_h", "Nunca guardamos datos de tarjetas"),
    (
        "security.cards",
        "Los datos de su tarjeta o banco van directamente de su navegador a la página de pago de Stripe. Solo guardamos las referencias de Stripe, los últimos 4 dígitos y la marca de la tarjeta.",
    ),
    ("security.connect_h", "Su dinero va a su asociación"),
    (
        "security.connect",
        "Cada asociación tiene su propia cuenta de Stripe. Su pago llega al saldo de su asociación y se deposita en su banco.",
    ),
    ("security.tls_h", "Conexiones cifradas"),
    (
        "security.tls",
        "Todas las conexiones están cifradas (TLS) y nuestras páginas indican a los navegadores que usen siempre HTTPS.",
    ),
    ("security.access_h", "Control de acceso"),
    (
        "security.access",
        "El personal de una asociación nunca puede ver los datos de otra; cada acción delicada queda en un registro de auditoría que no se puede modificar.",
    ),
    ("security.backup_h", "Copias de seguridad"),
    (
        "security.backup",
        "Los datos se respaldan de forma programada, se cifran antes de salir del servidor y las restauraciones se prueban.",
    ),
    ("unsubscribe.title", "Cancelar suscripción"),
    (
        "unsubscribe.confirm",
        "¿Dejar de recibir estos correos? Las facturas, los recibos y los avisos sobre su servicio seguirán llegando.",
    ),
    ("unsubscribe.what", "Correos"),
    ("unsubscribe.account", "Cuenta"),
    ("unsubscribe.button", "Cancelar suscripción"),
    (
        "unsubscribe.done",
        "Listo: ya no recibirá estos correos. Puede volver a activarlos en sus preferencias de notificación.",
    ),
    (
        "unsubscribe.essential",
        "Estos correos son esenciales (facturas, recibos, avisos sobre su servicio) y no se pueden desactivar.",
    ),
    (
        "unsubscribe.kind.due_reminder",
        "Recordatorios de vencimiento",
    ),
    (
        "unsubscribe.kind.autopay_upcoming",
        "Avisos de pago automático próximo",
    ),
    (
        "unsubscribe.kind.high_usage",
        "Alertas de consumo alto de agua",
    ),
    ("unsubscribe.kind.essential", "Avisos esenciales"),
    ("cust.account.back", "Volver a esta cuenta"),
    ("cust.accounts.back", "Todas mis cuentas"),
    (
        "cust.accounts.none",
        "Todavía no hay ninguna cuenta vinculada a su acceso. Agregue una abajo con su número de cuenta y código postal del servicio.",
    ),
    ("cust.accounts.title", "Mis cuentas de agua"),
    ("cust.amount", "Importe"),
    ("cust.balance", "Saldo a pagar"),
    ("cust.bill_no", "Factura n.º"),
    ("cust.bills.none", "Todavía no hay facturas."),
    ("cust.bills.title", "Historial de facturas"),
    (
        "cust.confirm.intro",
        "Pulse el botón para entrar. El enlace sirve una sola vez.",
    ),
    ("cust.confirm.title", "Entrar con su enlace"),
    ("cust.current_bill", "Factura actual"),
    ("cust.date", "Fecha"),
    ("cust.due_on", "Fecha de vencimiento"),
    ("cust.email", "Correo electrónico"),
    ("cust.error.email", "Escriba un correo electrónico válido."),
    (
        "cust.error.link",
        "Este enlace no es válido, ya se usó o venció. Pida uno nuevo abajo.",
    ),
    (
        "cust.error.credentials",
        "El correo o la contraseña no son correctos.",
    ),
    (
        "cust.error.throttled",
        "Demasiados intentos. Espere unos minutos y vuelva a intentarlo.",
    ),
    (
        "cust.error.invalid",
        "Revise lo que escribió y vuelva a intentarlo.",
    ),
    ("cust.export", "Descargar mis datos"),
    ("cust.forgot", "Crear o cambiar mi contraseña"),
    (
        "cust.high_usage.text",
        "Su última factura muestra un consumo de agua mucho mayor de lo normal. Revise si hay fugas (inodoros, llaves exteriores, riego).",
    ),
    ("cust.high_usage.title", "Consumo alto de agua."),
    ("cust.holder", "Titular de la cuenta"),
    (
        "cust.home.signin",
        "Entre para ver sus facturas, pagos y consumo de agua",
    ),
    ("cust.language.default", "El idioma de la asociación"),
    ("cust.link.button", "Envíenme un enlace para entrar"),
    (
        "cust.link.intro",
        "¿No tiene contraseña? Le enviamos por correo un enlace que le permite entrar una vez.",
    ),
    (
        "cust.link.sent",
        "Si ese correo puede entrar aquí, le enviamos un enlace. Sirve una sola vez, durante 15 minutos.",
    ),
    ("cust.link.title", "Entrar sin contraseña"),
    ("cust.link_account.button", "Agregar esta cuenta"),
    (
        "cust.link_account.intro",
        "Demuestre que una cuenta es suya con su número de cuenta y el código postal del servicio (ambos están en su factura).",
    ),
    ("cust.link_account.title", "Agregar una cuenta"),
    ("cust.notifications", "Avisarme por correo sobre"),
    ("cust.off", "Desactivada"),
    ("cust.on", "Activada"),
    ("cust.paperless", "Factura sin papel"),
    ("cust.paperless.off", "Enviarme facturas en papel"),
    (
        "cust.paperless.on",
        "Enviarme las facturas por correo electrónico en vez de papel",
    ),
    ("cust.password", "Contraseña"),
    ("cust.payments.none", "Todavía no hay pagos."),
    ("cust.payments.title", "Historial de pagos"),
    ("cust.period", "Período de facturación"),
    ("cust.period_end", "Fin del período"),
    ("cust.save", "Guardar"),
    ("cust.saved", "Se guardaron sus preferencias."),
    ("cust.autopay.link", "Pago automático"),
    ("cust.autopay.title", "Pago automático"),
    ("cust.autopay.back", "Volver a la cuenta"),
    ("cust.autopay.on", "El pago automático está activo con"),
    (
        "cust.autopay.off",
        "El pago automático está desactivado para esta cuenta.",
    ),
    ("cust.autopay.next", "Próximo cargo"),
    (
        "cust.autopay.offer.title",
        "Mantener el pago automático en esta cuenta",
    ),
    (
        "cust.autopay.offer.text",
        "El pago automático de su cuenta cerrada paga con la tarjeta o cuenta bancaria guardada para la cuenta",
    ),
    (
        "cust.autopay.consent",
        "Acepto que esta asociación cobre a la misma tarjeta o cuenta bancaria las facturas de esta cuenta en su fecha de vencimiento. Puedo desactivar el pago automático en cualquier momento.",
    ),
    ("cust.autopay.keep", "Mantener el pago automático"),
    (
        "cust.autopay.need_consent",
        "Marque la casilla para aceptar; sin ello el pago automático no se traslada.",
    ),
    (
        "cust.autopay.moved",
        "El pago automático está activo en esta cuenta con la misma tarjeta o cuenta bancaria. El pago automático de su cuenta anterior terminó.",
    ),
    (
        "cust.autopay.none",
        "No hay pago automático para trasladar a esta cuenta.",
    ),
    (
        "cust.autopay.banner",
        "Puede mantener el pago automático en esta cuenta con la tarjeta o cuenta bancaria de su cuenta cerrada.",
    ),
    ("cust.settings.title", "Preferencias"),
    ("cust.signed_in_as", "Sesión iniciada como"),
    ("cust.signin.button", "Entrar"),
    ("cust.signin.prompt", "¿Ya tiene acceso? Entrar"),
    ("cust.signin.title", "Entre en su cuenta de agua"),
    ("cust.signout", "Salir"),
    ("cust.signup.button", "Envíenme un enlace para terminar"),
    (
        "cust.signup.intro",
        "Escriba su correo. Le enviamos un enlace que confirma la dirección y le permite entrar; luego agregue su cuenta con su número y el código postal del servicio.",
    ),
    ("cust.signup.prompt", "¿Es nuevo? Cree un acceso"),
    ("cust.signup.title", "Crear un acceso"),
    ("cust.status", "Estado"),
    ("cust.usage.none", "Todavía no hay consumo registrado."),
    ("cust.usage.table", "Ver los números en una tabla"),
    ("cust.usage.title", "Consumo de agua, últimas 13 facturas"),
    ("cust.use", "Consumo"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_exists_in_both_languages() {
        for (table, other, name) in [(EN, ES, "Spanish"), (ES, EN, "English")] {
            for (k, v) in table {
                assert!(!v.trim().is_empty(), "{k} is empty");
                assert!(
                    other.iter().any(|(o, _)| o == k),
                    "{k} is missing in {name}"
                );
            }
        }
        let mut keys: Vec<_> = EN.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), EN.len(), "a key is listed twice");
    }

    #[test]
    fn every_key_the_templates_use_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for piece in text.split(".t(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                used += 1;
                for l in Lang::ALL {
                    assert_ne!(l.t(key), "(missing text)", "{key} in {}", l.code());
                }
            }
        }
        assert!(used > 20, "the templates lost their messages");
    }

    #[test]
    fn negotiation() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=1, es-MX;q=0.9, en;q=0.5"),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::Es);
        assert_eq!(Lang::negotiate(Some("lang=en"), &h), Lang::En);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; aqueduct-lang=en"),
        );
        assert_eq!(Lang::negotiate(None, &h), Lang::En);
        assert_eq!(parse_quality("0.25"), 250);
        assert_eq!(parse_quality("1.0"), 1000);
    }
}
