// The Gatehouse account page: sign in (with a second factor), register, forgot and reset a
// password, and the account overview (address, 2FA methods, recovery codes, sessions, password,
// address change, deletion). It uses only the public API of the server that serves it. The
// refresh token lives in the HttpOnly id_token cookie (?cookie=true); the short-lived access
// and sudo tokens are kept in this module's memory only, never in localStorage or
// sessionStorage, and are gone when the tab closes.

// ---------------------------------------------------------------- languages

const MESSAGES = {
  en: {
    'signin.title': 'Sign in',
    'signin.submit': 'Sign in',
    'field.email': 'Email address',
    'field.password': 'Password',
    'field.newPassword': 'New password',
    'link.register': 'Create an account',
    'link.forgot': 'Forgot your password?',
    'link.signin': 'Back to sign in',
    'register.title': 'Create an account',
    'register.submit': 'Create account',
    'register.closed': 'Registration is closed on this server.',
    'register.done': 'Your account has been created.',
    'password.hint': 'At least 8 characters, with an uppercase letter, a lowercase letter and a digit.',
    'forgot.title': 'Forgot your password',
    'forgot.intro': 'Enter your address. If it has an account, we send it a link to choose a new password.',
    'forgot.submit': 'Send reset link',
    'forgot.sent': 'If an account uses {email}, a link is on its way. It expires in 10 minutes.',
    'reset.title': 'Choose a new password',
    'reset.code': 'Reset code',
    'reset.submit': 'Reset password',
    'reset.done': 'Your password has been changed. Sign in with the new one.',
    'mfa.title': 'Two-step verification',
    'mfa.intro': 'Your account is protected by a second factor.',
    'mfa.totp': 'Code from your authenticator app',
    'mfa.email': 'Code from the email',
    'mfa.recovery': 'Recovery code',
    'mfa.submit': 'Sign in',
    'mfa.useTotp': 'Use the authenticator app',
    'mfa.useEmail': 'Use an email code',
    'mfa.useRecovery': 'Use a recovery code',
    'mfa.usePasskey': 'Use a passkey',
    'mfa.passkeyIntro': 'Use the passkey saved on this device or a security key.',
    'mfa.sendEmail': 'Send a code by email',
    'mfa.emailSent': 'A code has been sent to {email}.',
    'mfa.emailSentAny': 'A code has been sent by email.',
    'cancel': 'Cancel',
    'sudo.title': 'Confirm it is you',
    'sudo.intro': 'This change needs your second factor again.',
    'sudo.submit': 'Confirm',
    'overview.title': 'Your account',
    'account.h': 'Sign-in details',
    'account.email': 'Email address',
    'account.verified': 'verified',
    'account.unverified': 'not verified',
    'account.created': 'Created',
    'email.change': 'Change email address',
    'email.new': 'New email address',
    'email.send': 'Send code',
    'email.codeSent': 'A code has been sent to {email}.',
    'email.code': 'Code from the email',
    'email.submit': 'Change address',
    'email.done': 'Your address is now {email}.',
    'tfa.h': 'Two-factor authentication',
    'tfa.none': 'Two-factor authentication is off. Add a second factor to protect your account.',
    'tfa.on': 'on',
    'tfa.off': 'off',
    'tfa.totp': 'Authenticator app',
    'tfa.emailOtp': 'Email codes',
    'tfa.passkey': 'Passkeys',
    'tfa.recovery': 'Recovery codes',
    'totp.setup': 'Set up authenticator app (TOTP)',
    'totp.scan': 'Scan this QR code with your authenticator app, or type the secret key into it. Then enter the code it shows.',
    'totp.qr': 'QR code for your authenticator app',
    'totp.secret': 'Secret key',
    'totp.open': 'Open in an authenticator app',
    'totp.enable': 'Enable authenticator app',
    'totp.enabled': 'The authenticator app is on.',
    'totp.disable': 'Turn off authenticator app',
    'totp.disabled': 'The authenticator app is off.',
    'eotp.setup': 'Set up email codes',
    'eotp.address': 'Address for the codes',
    'eotp.enable': 'Enable email codes',
    'eotp.enabled': 'Email codes are on.',
    'eotp.disable': 'Turn off email codes',
    'eotp.disabled': 'Email codes are off.',
    'pk.setup': 'Add a passkey',
    'pk.enabled': 'The passkey has been added.',
    'pk.disable': 'Remove passkeys',
    'pk.disabled': 'Passkeys are off.',
    'pk.unsupported': 'This browser cannot use passkeys.',
    'pk.cancelled': 'The passkey request was cancelled or timed out.',
    'rc.title': 'Your recovery codes',
    'rc.intro': 'Each code signs you in once if you lose your second factor. They are shown only now: keep them somewhere safe.',
    'rc.list': 'Recovery codes',
    'rc.copy': 'Copy codes',
    'rc.copied': 'The recovery codes have been copied.',
    'rc.copyFailed': 'Copying is not allowed here; select the codes or download them.',
    'rc.download': 'Download codes',
    'rc.done': 'I have saved them',
    'rc.reset': 'New recovery codes',
    'rc.resetDone': 'New recovery codes made; the old ones no longer work.',
    'rc.fileHeader': 'Recovery codes for {email} ({service}). Each works once.',
    'pw.h': 'Password',
    'pw.change': 'Change password',
    'pw.current': 'Current password',
    'pw.submit': 'Save new password',
    'pw.done': 'Your password has been changed. Your other sessions have been signed out.',
    'sess.h': 'Sessions',
    'sess.intro': 'Where your account is signed in.',
    'sess.this': 'This device',
    'sess.signout': 'Sign out',
    'sess.everywhere': 'Sign out everywhere',
    'sess.ended': 'The session has ended.',
    'sess.created': 'Signed in',
    'sess.used': 'Last active',
    'sess.ip': 'IP address',
    'sess.unknownDevice': 'Unknown device',
    'sess.unavailable': 'The list of sessions is not available on this server.',
    'del.h': 'Delete account',
    'del.intro': 'Deleting your account removes it and everything of it. This cannot be undone.',
    'del.open': 'Delete account…',
    'del.confirm': 'I understand that this cannot be undone',
    'del.submit': 'Delete my account permanently',
    'del.done': 'Your account has been deleted.',
    'del.unavailable': 'This server does not offer deleting an account here yet.',
    'del.password': 'Password',
    'signout': 'Sign out',
    'signedOut': 'You are signed out.',
    'signedOutEverywhere': 'You are signed out on every device.',
    'busy': 'Working…',
    'err.generic': 'Something went wrong ({code}).',
    'err.network': 'The server cannot be reached. Try again.',
    'err.tooMany': 'Too many attempts. Try again in {s} seconds.',
    'err.tooManyNow': 'Too many attempts. Try again later.',
    'err.sessionOver': 'Your session has ended. Sign in again.',
    'err.PASSWORD_INCORRECT': 'The address or password is not right.',
    'err.PASSWORD_INCORRECT.change': 'The current password is not right.',
    'err.TOTP_INVALID': 'That code is not right. Enter the code your app shows now.',
    'err.OTP_INVALID_EXPIRED': 'That code is not right or has expired.',
    'err.RECOVERY_CODE_INVALID': 'That recovery code is not right or has been used.',
    'err.EMAIL_ALREADY_IN_USE': 'An account with this address exists already.',
    'err.NEW_EMAIL_ALREADY_IN_USE': 'Another account uses this address.',
    'err.REGISTRATION_CLOSED': 'Registration is closed on this server.',
    'err.FORBIDDEN_MAIL_PROVIDER': 'Addresses of this mail provider cannot be used.',
    'err.EMAIL_NOT_VERIFIED': 'Confirm your address first: use the code we emailed you.',
    'err.invalidEmail': 'Enter a valid email address.',
    'err.pwUpper': 'The password needs at least one uppercase letter.',
    'err.pwLower': 'The password needs at least one lowercase letter.',
    'err.pwDigit': 'The password needs at least one digit.',
    'err.pwShort': 'The password needs at least {n} characters.',
    'err.pwLong': 'The password can have at most {n} characters.',
    'err.codeLength': 'The code has 6 digits.',
    'err.NO_PENDING_EMAIL_TRANSFER': 'Ask for a new code first.',
    'verify.title': 'Confirm your address',
    'verify.intro': 'We sent a code to {email}. Enter it to confirm the address.',
    'verify.code': 'Code from the email',
    'verify.submit': 'Confirm address',
    'verify.resend': 'Send a new code',
    'verify.sent': 'A new code has been sent to {email}.',
    'verify.done': 'Your address is confirmed.',
    'verify.open': 'Confirm this address',
    'err.EMAIL_ALREADY_VERIFIED': 'This address is confirmed already.',
    'err.NO_PENDING_EMAIL_VERIFICATION': 'Ask for a new code first.',
    'del.passwordHint': 'Your password confirms that it is you.',
    'pk.name': 'Name of the passkey (optional)',
    'pk.namePlaceholder': 'This laptop',
    'pk.create': 'Create passkey',
    'pk.ipHost': 'Passkeys need the server’s address with a domain name (GATEHOUSE_PUBLIC_URL); they do not work at an IP address.',
    'pk.list': 'Your passkeys',
    'pk.unnamed': 'Passkey',
    'pk.added': 'Added',
    'err.UNABLE_TO_FIND_MAIL_TEMPLATE': 'This server cannot send that email.',
  },
  nl: {
    'signin.title': 'Inloggen',
    'signin.submit': 'Inloggen',
    'field.email': 'E-mailadres',
    'field.password': 'Wachtwoord',
    'field.newPassword': 'Nieuw wachtwoord',
    'link.register': 'Account aanmaken',
    'link.forgot': 'Wachtwoord vergeten?',
    'link.signin': 'Terug naar inloggen',
    'register.title': 'Account aanmaken',
    'register.submit': 'Account aanmaken',
    'register.closed': 'Registreren is op deze server gesloten.',
    'register.done': 'Je account is aangemaakt.',
    'password.hint': 'Minstens 8 tekens, met een hoofdletter, een kleine letter en een cijfer.',
    'forgot.title': 'Wachtwoord vergeten',
    'forgot.intro': 'Vul je adres in. Hoort er een account bij, dan sturen we een link om een nieuw wachtwoord te kiezen.',
    'forgot.submit': 'Resetlink versturen',
    'forgot.sent': 'Als een account {email} gebruikt, is er een link onderweg. Die verloopt na 10 minuten.',
    'reset.title': 'Kies een nieuw wachtwoord',
    'reset.code': 'Resetcode',
    'reset.submit': 'Wachtwoord resetten',
    'reset.done': 'Je wachtwoord is gewijzigd. Log in met het nieuwe.',
    'mfa.title': 'Verificatie in twee stappen',
    'mfa.intro': 'Je account is beschermd met een tweede factor.',
    'mfa.totp': 'Code uit je authenticator-app',
    'mfa.email': 'Code uit de e-mail',
    'mfa.recovery': 'Herstelcode',
    'mfa.submit': 'Inloggen',
    'mfa.useTotp': 'De authenticator-app gebruiken',
    'mfa.useEmail': 'Een e-mailcode gebruiken',
    'mfa.useRecovery': 'Een herstelcode gebruiken',
    'mfa.usePasskey': 'Een passkey gebruiken',
    'mfa.passkeyIntro': 'Gebruik de passkey op dit apparaat of een beveiligingssleutel.',
    'mfa.sendEmail': 'Code per e-mail versturen',
    'mfa.emailSent': 'Er is een code naar {email} gestuurd.',
    'mfa.emailSentAny': 'Er is een code per e-mail gestuurd.',
    'cancel': 'Annuleren',
    'sudo.title': 'Bevestig dat jij het bent',
    'sudo.intro': 'Voor deze wijziging is je tweede factor opnieuw nodig.',
    'sudo.submit': 'Bevestigen',
    'overview.title': 'Je account',
    'account.h': 'Inloggegevens',
    'account.email': 'E-mailadres',
    'account.verified': 'bevestigd',
    'account.unverified': 'niet bevestigd',
    'account.created': 'Aangemaakt',
    'email.change': 'E-mailadres wijzigen',
    'email.new': 'Nieuw e-mailadres',
    'email.send': 'Code versturen',
    'email.codeSent': 'Er is een code naar {email} gestuurd.',
    'email.code': 'Code uit de e-mail',
    'email.submit': 'Adres wijzigen',
    'email.done': 'Je adres is nu {email}.',
    'tfa.h': 'Tweestapsverificatie',
    'tfa.none': 'Tweestapsverificatie staat uit. Voeg een tweede factor toe om je account te beschermen.',
    'tfa.on': 'aan',
    'tfa.off': 'uit',
    'tfa.totp': 'Authenticator-app',
    'tfa.emailOtp': 'E-mailcodes',
    'tfa.passkey': 'Passkeys',
    'tfa.recovery': 'Herstelcodes',
    'totp.setup': 'Authenticator-app instellen (TOTP)',
    'totp.scan': 'Scan deze QR-code met je authenticator-app of typ de geheime sleutel over. Vul daarna de code in die de app toont.',
    'totp.qr': 'QR-code voor je authenticator-app',
    'totp.secret': 'Geheime sleutel',
    'totp.open': 'Openen in een authenticator-app',
    'totp.enable': 'Authenticator-app inschakelen',
    'totp.enabled': 'De authenticator-app staat aan.',
    'totp.disable': 'Authenticator-app uitschakelen',
    'totp.disabled': 'De authenticator-app staat uit.',
    'eotp.setup': 'E-mailcodes instellen',
    'eotp.address': 'Adres voor de codes',
    'eotp.enable': 'E-mailcodes inschakelen',
    'eotp.enabled': 'E-mailcodes staan aan.',
    'eotp.disable': 'E-mailcodes uitschakelen',
    'eotp.disabled': 'E-mailcodes staan uit.',
    'pk.setup': 'Passkey toevoegen',
    'pk.enabled': 'De passkey is toegevoegd.',
    'pk.disable': 'Passkeys verwijderen',
    'pk.disabled': 'Passkeys staan uit.',
    'pk.unsupported': 'Deze browser kan geen passkeys gebruiken.',
    'pk.cancelled': 'Het passkeyverzoek is geannuleerd of verlopen.',
    'rc.title': 'Je herstelcodes',
    'rc.intro': 'Met elke code log je één keer in als je je tweede factor kwijt bent. Ze worden alleen nu getoond: bewaar ze op een veilige plek.',
    'rc.list': 'Herstelcodes',
    'rc.copy': 'Codes kopiëren',
    'rc.copied': 'De herstelcodes zijn gekopieerd.',
    'rc.copyFailed': 'Kopiëren mag hier niet; selecteer de codes of download ze.',
    'rc.download': 'Codes downloaden',
    'rc.done': 'Ik heb ze bewaard',
    'rc.reset': 'Nieuwe herstelcodes',
    'rc.resetDone': 'Nieuwe herstelcodes gemaakt; de oude werken niet meer.',
    'rc.fileHeader': 'Herstelcodes voor {email} ({service}). Elke code werkt één keer.',
    'pw.h': 'Wachtwoord',
    'pw.change': 'Wachtwoord wijzigen',
    'pw.current': 'Huidig wachtwoord',
    'pw.submit': 'Nieuw wachtwoord opslaan',
    'pw.done': 'Je wachtwoord is gewijzigd. Je andere sessies zijn uitgelogd.',
    'sess.h': 'Sessies',
    'sess.intro': 'Waar je account is ingelogd.',
    'sess.this': 'Dit apparaat',
    'sess.signout': 'Uitloggen',
    'sess.everywhere': 'Overal uitloggen',
    'sess.ended': 'De sessie is beëindigd.',
    'sess.created': 'Ingelogd',
    'sess.used': 'Laatst actief',
    'sess.ip': 'IP-adres',
    'sess.unknownDevice': 'Onbekend apparaat',
    'sess.unavailable': 'De lijst met sessies is op deze server niet beschikbaar.',
    'del.h': 'Account verwijderen',
    'del.intro': 'Als je je account verwijdert, verdwijnt alles ervan. Dit kan niet ongedaan worden gemaakt.',
    'del.open': 'Account verwijderen…',
    'del.confirm': 'Ik begrijp dat dit niet ongedaan kan worden gemaakt',
    'del.submit': 'Mijn account definitief verwijderen',
    'del.done': 'Je account is verwijderd.',
    'del.unavailable': 'Deze server biedt hier nog geen verwijdering van accounts aan.',
    'del.password': 'Wachtwoord',
    'signout': 'Uitloggen',
    'signedOut': 'Je bent uitgelogd.',
    'signedOutEverywhere': 'Je bent op elk apparaat uitgelogd.',
    'busy': 'Bezig…',
    'err.generic': 'Er ging iets mis ({code}).',
    'err.network': 'De server is niet bereikbaar. Probeer het opnieuw.',
    'err.tooMany': 'Te veel pogingen. Probeer het over {s} seconden opnieuw.',
    'err.tooManyNow': 'Te veel pogingen. Probeer het later opnieuw.',
    'err.sessionOver': 'Je sessie is beëindigd. Log opnieuw in.',
    'err.PASSWORD_INCORRECT': 'Het adres of wachtwoord klopt niet.',
    'err.PASSWORD_INCORRECT.change': 'Het huidige wachtwoord klopt niet.',
    'err.TOTP_INVALID': 'Die code klopt niet. Vul de code in die je app nu toont.',
    'err.OTP_INVALID_EXPIRED': 'Die code klopt niet of is verlopen.',
    'err.RECOVERY_CODE_INVALID': 'Die herstelcode klopt niet of is al gebruikt.',
    'err.EMAIL_ALREADY_IN_USE': 'Er bestaat al een account met dit adres.',
    'err.NEW_EMAIL_ALREADY_IN_USE': 'Een ander account gebruikt dit adres.',
    'err.REGISTRATION_CLOSED': 'Registreren is op deze server gesloten.',
    'err.FORBIDDEN_MAIL_PROVIDER': 'Adressen van deze e-mailprovider kunnen niet worden gebruikt.',
    'err.EMAIL_NOT_VERIFIED': 'Bevestig eerst je adres met de code die we je hebben gemaild.',
    'err.invalidEmail': 'Vul een geldig e-mailadres in.',
    'err.pwUpper': 'Het wachtwoord moet minstens één hoofdletter bevatten.',
    'err.pwLower': 'Het wachtwoord moet minstens één kleine letter bevatten.',
    'err.pwDigit': 'Het wachtwoord moet minstens één cijfer bevatten.',
    'err.pwShort': 'Het wachtwoord moet minstens {n} tekens hebben.',
    'err.pwLong': 'Het wachtwoord mag hoogstens {n} tekens hebben.',
    'err.codeLength': 'De code heeft 6 cijfers.',
    'err.NO_PENDING_EMAIL_TRANSFER': 'Vraag eerst een nieuwe code aan.',
    'verify.title': 'Bevestig je adres',
    'verify.intro': 'We hebben een code naar {email} gestuurd. Vul die in om het adres te bevestigen.',
    'verify.code': 'Code uit de e-mail',
    'verify.submit': 'Adres bevestigen',
    'verify.resend': 'Nieuwe code versturen',
    'verify.sent': 'Er is een nieuwe code naar {email} gestuurd.',
    'verify.done': 'Je adres is bevestigd.',
    'verify.open': 'Dit adres bevestigen',
    'err.EMAIL_ALREADY_VERIFIED': 'Dit adres is al bevestigd.',
    'err.NO_PENDING_EMAIL_VERIFICATION': 'Vraag eerst een nieuwe code aan.',
    'del.passwordHint': 'Met je wachtwoord bevestig je dat jij het bent.',
    'pk.name': 'Naam van de passkey (optioneel)',
    'pk.namePlaceholder': 'Deze laptop',
    'pk.create': 'Passkey aanmaken',
    'pk.ipHost': 'Passkeys hebben het adres van de server met een domeinnaam nodig (GATEHOUSE_PUBLIC_URL); op een IP-adres werken ze niet.',
    'pk.list': 'Je passkeys',
    'pk.unnamed': 'Passkey',
    'pk.added': 'Toegevoegd',
    'err.UNABLE_TO_FIND_MAIL_TEMPLATE': 'Deze server kan die e-mail niet versturen.',
  },
  fr: {
    'signin.title': 'Connexion',
    'signin.submit': 'Se connecter',
    'field.email': 'Adresse e-mail',
    'field.password': 'Mot de passe',
    'field.newPassword': 'Nouveau mot de passe',
    'link.register': 'Créer un compte',
    'link.forgot': 'Mot de passe oublié ?',
    'link.signin': 'Retour à la connexion',
    'register.title': 'Créer un compte',
    'register.submit': 'Créer le compte',
    'register.closed': 'Les inscriptions sont fermées sur ce serveur.',
    'register.done': 'Votre compte a été créé.',
    'password.hint': 'Au moins 8 caractères, dont une majuscule, une minuscule et un chiffre.',
    'forgot.title': 'Mot de passe oublié',
    'forgot.intro': 'Saisissez votre adresse. Si un compte l’utilise, nous y envoyons un lien pour choisir un nouveau mot de passe.',
    'forgot.submit': 'Envoyer le lien',
    'forgot.sent': 'Si un compte utilise {email}, un lien est en route. Il expire dans 10 minutes.',
    'reset.title': 'Choisissez un nouveau mot de passe',
    'reset.code': 'Code de réinitialisation',
    'reset.submit': 'Réinitialiser le mot de passe',
    'reset.done': 'Votre mot de passe a été modifié. Connectez-vous avec le nouveau.',
    'mfa.title': 'Validation en deux étapes',
    'mfa.intro': 'Votre compte est protégé par un second facteur.',
    'mfa.totp': 'Code de votre application d’authentification',
    'mfa.email': 'Code reçu par e-mail',
    'mfa.recovery': 'Code de secours',
    'mfa.submit': 'Se connecter',
    'mfa.useTotp': 'Utiliser l’application d’authentification',
    'mfa.useEmail': 'Utiliser un code par e-mail',
    'mfa.useRecovery': 'Utiliser un code de secours',
    'mfa.usePasskey': 'Utiliser une clé d’accès',
    'mfa.passkeyIntro': 'Utilisez la clé d’accès de cet appareil ou une clé de sécurité.',
    'mfa.sendEmail': 'Envoyer un code par e-mail',
    'mfa.emailSent': 'Un code a été envoyé à {email}.',
    'mfa.emailSentAny': 'Un code a été envoyé par e-mail.',
    'cancel': 'Annuler',
    'sudo.title': 'Confirmez que c’est vous',
    'sudo.intro': 'Cette modification demande à nouveau votre second facteur.',
    'sudo.submit': 'Confirmer',
    'overview.title': 'Votre compte',
    'account.h': 'Identifiants',
    'account.email': 'Adresse e-mail',
    'account.verified': 'vérifiée',
    'account.unverified': 'non vérifiée',
    'account.created': 'Créé le',
    'email.change': 'Changer d’adresse e-mail',
    'email.new': 'Nouvelle adresse e-mail',
    'email.send': 'Envoyer le code',
    'email.codeSent': 'Un code a été envoyé à {email}.',
    'email.code': 'Code reçu par e-mail',
    'email.submit': 'Changer l’adresse',
    'email.done': 'Votre adresse est maintenant {email}.',
    'tfa.h': 'Authentification à deux facteurs',
    'tfa.none': 'L’authentification à deux facteurs est désactivée. Ajoutez un second facteur pour protéger votre compte.',
    'tfa.on': 'activé',
    'tfa.off': 'désactivé',
    'tfa.totp': 'Application d’authentification',
    'tfa.emailOtp': 'Codes par e-mail',
    'tfa.passkey': 'Clés d’accès',
    'tfa.recovery': 'Codes de secours',
    'totp.setup': 'Configurer une application d’authentification (TOTP)',
    'totp.scan': 'Scannez ce QR code avec votre application d’authentification ou saisissez-y la clé secrète. Entrez ensuite le code affiché.',
    'totp.qr': 'QR code pour votre application d’authentification',
    'totp.secret': 'Clé secrète',
    'totp.open': 'Ouvrir dans une application d’authentification',
    'totp.enable': 'Activer l’application d’authentification',
    'totp.enabled': 'L’application d’authentification est activée.',
    'totp.disable': 'Désactiver l’application d’authentification',
    'totp.disabled': 'L’application d’authentification est désactivée.',
    'eotp.setup': 'Configurer les codes par e-mail',
    'eotp.address': 'Adresse des codes',
    'eotp.enable': 'Activer les codes par e-mail',
    'eotp.enabled': 'Les codes par e-mail sont activés.',
    'eotp.disable': 'Désactiver les codes par e-mail',
    'eotp.disabled': 'Les codes par e-mail sont désactivés.',
    'pk.setup': 'Ajouter une clé d’accès',
    'pk.enabled': 'La clé d’accès a été ajoutée.',
    'pk.disable': 'Supprimer les clés d’accès',
    'pk.disabled': 'Les clés d’accès sont désactivées.',
    'pk.unsupported': 'Ce navigateur ne prend pas en charge les clés d’accès.',
    'pk.cancelled': 'La demande de clé d’accès a été annulée ou a expiré.',
    'rc.title': 'Vos codes de secours',
    'rc.intro': 'Chaque code permet une connexion si vous perdez votre second facteur. Ils ne sont affichés que maintenant : gardez-les en lieu sûr.',
    'rc.list': 'Codes de secours',
    'rc.copy': 'Copier les codes',
    'rc.copied': 'Les codes de secours ont été copiés.',
    'rc.copyFailed': 'La copie n’est pas permise ici ; sélectionnez les codes ou téléchargez-les.',
    'rc.download': 'Télécharger les codes',
    'rc.done': 'Je les ai enregistrés',
    'rc.reset': 'Nouveaux codes de secours',
    'rc.resetDone': 'De nouveaux codes de secours ont été créés ; les anciens ne fonctionnent plus.',
    'rc.fileHeader': 'Codes de secours pour {email} ({service}). Chacun fonctionne une fois.',
    'pw.h': 'Mot de passe',
    'pw.change': 'Changer le mot de passe',
    'pw.current': 'Mot de passe actuel',
    'pw.submit': 'Enregistrer le nouveau mot de passe',
    'pw.done': 'Votre mot de passe a été modifié. Vos autres sessions ont été déconnectées.',
    'sess.h': 'Sessions',
    'sess.intro': 'Là où votre compte est connecté.',
    'sess.this': 'Cet appareil',
    'sess.signout': 'Se déconnecter',
    'sess.everywhere': 'Se déconnecter partout',
    'sess.ended': 'La session est terminée.',
    'sess.created': 'Connecté le',
    'sess.used': 'Dernière activité',
    'sess.ip': 'Adresse IP',
    'sess.unknownDevice': 'Appareil inconnu',
    'sess.unavailable': 'La liste des sessions n’est pas disponible sur ce serveur.',
    'del.h': 'Supprimer le compte',
    'del.intro': 'La suppression de votre compte efface tout ce qui s’y rapporte. C’est irréversible.',
    'del.open': 'Supprimer le compte…',
    'del.confirm': 'Je comprends que c’est irréversible',
    'del.submit': 'Supprimer définitivement mon compte',
    'del.done': 'Votre compte a été supprimé.',
    'del.unavailable': 'Ce serveur ne permet pas encore de supprimer un compte ici.',
    'del.password': 'Mot de passe',
    'signout': 'Se déconnecter',
    'signedOut': 'Vous êtes déconnecté.',
    'signedOutEverywhere': 'Vous êtes déconnecté sur tous les appareils.',
    'busy': 'Un instant…',
    'err.generic': 'Une erreur est survenue ({code}).',
    'err.network': 'Le serveur est injoignable. Réessayez.',
    'err.tooMany': 'Trop de tentatives. Réessayez dans {s} secondes.',
    'err.tooManyNow': 'Trop de tentatives. Réessayez plus tard.',
    'err.sessionOver': 'Votre session est terminée. Reconnectez-vous.',
    'err.PASSWORD_INCORRECT': 'L’adresse ou le mot de passe est incorrect.',
    'err.PASSWORD_INCORRECT.change': 'Le mot de passe actuel est incorrect.',
    'err.TOTP_INVALID': 'Ce code est incorrect. Saisissez le code affiché maintenant par l’application.',
    'err.OTP_INVALID_EXPIRED': 'Ce code est incorrect ou a expiré.',
    'err.RECOVERY_CODE_INVALID': 'Ce code de secours est incorrect ou a déjà servi.',
    'err.EMAIL_ALREADY_IN_USE': 'Un compte existe déjà avec cette adresse.',
    'err.NEW_EMAIL_ALREADY_IN_USE': 'Un autre compte utilise cette adresse.',
    'err.REGISTRATION_CLOSED': 'Les inscriptions sont fermées sur ce serveur.',
    'err.FORBIDDEN_MAIL_PROVIDER': 'Les adresses de ce fournisseur ne sont pas acceptées.',
    'err.EMAIL_NOT_VERIFIED': 'Confirmez d’abord votre adresse avec le code envoyé par e-mail.',
    'err.invalidEmail': 'Saisissez une adresse e-mail valide.',
    'err.pwUpper': 'Le mot de passe doit contenir au moins une majuscule.',
    'err.pwLower': 'Le mot de passe doit contenir au moins une minuscule.',
    'err.pwDigit': 'Le mot de passe doit contenir au moins un chiffre.',
    'err.pwShort': 'Le mot de passe doit compter au moins {n} caractères.',
    'err.pwLong': 'Le mot de passe peut compter au plus {n} caractères.',
    'err.codeLength': 'Le code compte 6 chiffres.',
    'err.NO_PENDING_EMAIL_TRANSFER': 'Demandez d’abord un nouveau code.',
    'verify.title': 'Confirmez votre adresse',
    'verify.intro': 'Nous avons envoyé un code à {email}. Saisissez-le pour confirmer l’adresse.',
    'verify.code': 'Code reçu par e-mail',
    'verify.submit': 'Confirmer l’adresse',
    'verify.resend': 'Envoyer un nouveau code',
    'verify.sent': 'Un nouveau code a été envoyé à {email}.',
    'verify.done': 'Votre adresse est confirmée.',
    'verify.open': 'Confirmer cette adresse',
    'err.EMAIL_ALREADY_VERIFIED': 'Cette adresse est déjà confirmée.',
    'err.NO_PENDING_EMAIL_VERIFICATION': 'Demandez d’abord un nouveau code.',
    'del.passwordHint': 'Votre mot de passe confirme que c’est bien vous.',
    'pk.name': 'Nom de la clé d’accès (facultatif)',
    'pk.namePlaceholder': 'Cet ordinateur',
    'pk.create': 'Créer la clé d’accès',
    'pk.ipHost': 'Les clés d’accès demandent l’adresse du serveur avec un nom de domaine (GATEHOUSE_PUBLIC_URL) ; elles ne fonctionnent pas sur une adresse IP.',
    'pk.list': 'Vos clés d’accès',
    'pk.unnamed': 'Clé d’accès',
    'pk.added': 'Ajoutée le',
    'err.UNABLE_TO_FIND_MAIL_TEMPLATE': 'Ce serveur ne peut pas envoyer cet e-mail.',
  },
  de: {
    'signin.title': 'Anmelden',
    'signin.submit': 'Anmelden',
    'field.email': 'E-Mail-Adresse',
    'field.password': 'Passwort',
    'field.newPassword': 'Neues Passwort',
    'link.register': 'Konto erstellen',
    'link.forgot': 'Passwort vergessen?',
    'link.signin': 'Zurück zur Anmeldung',
    'register.title': 'Konto erstellen',
    'register.submit': 'Konto erstellen',
    'register.closed': 'Die Registrierung ist auf diesem Server geschlossen.',
    'register.done': 'Ihr Konto wurde erstellt.',
    'password.hint': 'Mindestens 8 Zeichen, mit einem Groß- und einem Kleinbuchstaben und einer Ziffer.',
    'forgot.title': 'Passwort vergessen',
    'forgot.intro': 'Geben Sie Ihre Adresse ein. Gehört ein Konto dazu, senden wir einen Link, mit dem Sie ein neues Passwort wählen.',
    'forgot.submit': 'Link senden',
    'forgot.sent': 'Falls ein Konto {email} verwendet, ist ein Link unterwegs. Er läuft in 10 Minuten ab.',
    'reset.title': 'Neues Passwort wählen',
    'reset.code': 'Rücksetzcode',
    'reset.submit': 'Passwort zurücksetzen',
    'reset.done': 'Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen an.',
    'mfa.title': 'Bestätigung in zwei Schritten',
    'mfa.intro': 'Ihr Konto ist mit einem zweiten Faktor geschützt.',
    'mfa.totp': 'Code aus Ihrer Authenticator-App',
    'mfa.email': 'Code aus der E-Mail',
    'mfa.recovery': 'Wiederherstellungscode',
    'mfa.submit': 'Anmelden',
    'mfa.useTotp': 'Authenticator-App verwenden',
    'mfa.useEmail': 'E-Mail-Code verwenden',
    'mfa.useRecovery': 'Wiederherstellungscode verwenden',
    'mfa.usePasskey': 'Passkey verwenden',
    'mfa.passkeyIntro': 'Verwenden Sie den Passkey dieses Geräts oder einen Sicherheitsschlüssel.',
    'mfa.sendEmail': 'Code per E-Mail senden',
    'mfa.emailSent': 'Ein Code wurde an {email} gesendet.',
    'mfa.emailSentAny': 'Ein Code wurde per E-Mail gesendet.',
    'cancel': 'Abbrechen',
    'sudo.title': 'Bestätigen Sie, dass Sie es sind',
    'sudo.intro': 'Für diese Änderung ist Ihr zweiter Faktor erneut nötig.',
    'sudo.submit': 'Bestätigen',
    'overview.title': 'Ihr Konto',
    'account.h': 'Anmeldedaten',
    'account.email': 'E-Mail-Adresse',
    'account.verified': 'bestätigt',
    'account.unverified': 'nicht bestätigt',
    'account.created': 'Erstellt',
    'email.change': 'E-Mail-Adresse ändern',
    'email.new': 'Neue E-Mail-Adresse',
    'email.send': 'Code senden',
    'email.codeSent': 'Ein Code wurde an {email} gesendet.',
    'email.code': 'Code aus der E-Mail',
    'email.submit': 'Adresse ändern',
    'email.done': 'Ihre Adresse ist jetzt {email}.',
    'tfa.h': 'Zwei-Faktor-Authentifizierung',
    'tfa.none': 'Die Zwei-Faktor-Authentifizierung ist aus. Fügen Sie einen zweiten Faktor hinzu, um Ihr Konto zu schützen.',
    'tfa.on': 'an',
    'tfa.off': 'aus',
    'tfa.totp': 'Authenticator-App',
    'tfa.emailOtp': 'E-Mail-Codes',
    'tfa.passkey': 'Passkeys',
    'tfa.recovery': 'Wiederherstellungscodes',
    'totp.setup': 'Authenticator-App einrichten (TOTP)',
    'totp.scan': 'Scannen Sie diesen QR-Code mit Ihrer Authenticator-App oder tippen Sie den geheimen Schlüssel ein. Geben Sie dann den angezeigten Code ein.',
    'totp.qr': 'QR-Code für Ihre Authenticator-App',
    'totp.secret': 'Geheimer Schlüssel',
    'totp.open': 'In einer Authenticator-App öffnen',
    'totp.enable': 'Authenticator-App aktivieren',
    'totp.enabled': 'Die Authenticator-App ist aktiv.',
    'totp.disable': 'Authenticator-App deaktivieren',
    'totp.disabled': 'Die Authenticator-App ist deaktiviert.',
    'eotp.setup': 'E-Mail-Codes einrichten',
    'eotp.address': 'Adresse für die Codes',
    'eotp.enable': 'E-Mail-Codes aktivieren',
    'eotp.enabled': 'E-Mail-Codes sind aktiv.',
    'eotp.disable': 'E-Mail-Codes deaktivieren',
    'eotp.disabled': 'E-Mail-Codes sind deaktiviert.',
    'pk.setup': 'Passkey hinzufügen',
    'pk.enabled': 'Der Passkey wurde hinzugefügt.',
    'pk.disable': 'Passkeys entfernen',
    'pk.disabled': 'Passkeys sind deaktiviert.',
    'pk.unsupported': 'Dieser Browser kann keine Passkeys verwenden.',
    'pk.cancelled': 'Die Passkey-Anfrage wurde abgebrochen oder ist abgelaufen.',
    'rc.title': 'Ihre Wiederherstellungscodes',
    'rc.intro': 'Mit jedem Code melden Sie sich einmal an, falls Sie Ihren zweiten Faktor verlieren. Sie werden nur jetzt angezeigt: Bewahren Sie sie sicher auf.',
    'rc.list': 'Wiederherstellungscodes',
    'rc.copy': 'Codes kopieren',
    'rc.copied': 'Die Wiederherstellungscodes wurden kopiert.',
    'rc.copyFailed': 'Kopieren ist hier nicht erlaubt; markieren Sie die Codes oder laden Sie sie herunter.',
    'rc.download': 'Codes herunterladen',
    'rc.done': 'Ich habe sie gespeichert',
    'rc.reset': 'Neue Wiederherstellungscodes',
    'rc.resetDone': 'Neue Wiederherstellungscodes erstellt; die alten gelten nicht mehr.',
    'rc.fileHeader': 'Wiederherstellungscodes für {email} ({service}). Jeder gilt einmal.',
    'pw.h': 'Passwort',
    'pw.change': 'Passwort ändern',
    'pw.current': 'Aktuelles Passwort',
    'pw.submit': 'Neues Passwort speichern',
    'pw.done': 'Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.',
    'sess.h': 'Sitzungen',
    'sess.intro': 'Wo Ihr Konto angemeldet ist.',
    'sess.this': 'Dieses Gerät',
    'sess.signout': 'Abmelden',
    'sess.everywhere': 'Überall abmelden',
    'sess.ended': 'Die Sitzung wurde beendet.',
    'sess.created': 'Angemeldet',
    'sess.used': 'Zuletzt aktiv',
    'sess.ip': 'IP-Adresse',
    'sess.unknownDevice': 'Unbekanntes Gerät',
    'sess.unavailable': 'Die Liste der Sitzungen ist auf diesem Server nicht verfügbar.',
    'del.h': 'Konto löschen',
    'del.intro': 'Wenn Sie Ihr Konto löschen, wird alles darin entfernt. Das kann nicht rückgängig gemacht werden.',
    'del.open': 'Konto löschen…',
    'del.confirm': 'Ich verstehe, dass dies nicht rückgängig gemacht werden kann',
    'del.submit': 'Mein Konto endgültig löschen',
    'del.done': 'Ihr Konto wurde gelöscht.',
    'del.unavailable': 'Dieser Server bietet das Löschen eines Kontos hier noch nicht an.',
    'del.password': 'Passwort',
    'signout': 'Abmelden',
    'signedOut': 'Sie sind abgemeldet.',
    'signedOutEverywhere': 'Sie sind auf allen Geräten abgemeldet.',
    'busy': 'Einen Moment…',
    'err.generic': 'Etwas ist schiefgegangen ({code}).',
    'err.network': 'Der Server ist nicht erreichbar. Versuchen Sie es erneut.',
    'err.tooMany': 'Zu viele Versuche. Versuchen Sie es in {s} Sekunden erneut.',
    'err.tooManyNow': 'Zu viele Versuche. Versuchen Sie es später erneut.',
    'err.sessionOver': 'Ihre Sitzung ist beendet. Melden Sie sich erneut an.',
    'err.PASSWORD_INCORRECT': 'Adresse oder Passwort stimmt nicht.',
    'err.PASSWORD_INCORRECT.change': 'Das aktuelle Passwort stimmt nicht.',
    'err.TOTP_INVALID': 'Dieser Code stimmt nicht. Geben Sie den Code ein, den Ihre App jetzt zeigt.',
    'err.OTP_INVALID_EXPIRED': 'Dieser Code stimmt nicht oder ist abgelaufen.',
    'err.RECOVERY_CODE_INVALID': 'Dieser Wiederherstellungscode stimmt nicht oder wurde schon verwendet.',
    'err.EMAIL_ALREADY_IN_USE': 'Es gibt bereits ein Konto mit dieser Adresse.',
    'err.NEW_EMAIL_ALREADY_IN_USE': 'Ein anderes Konto verwendet diese Adresse.',
    'err.REGISTRATION_CLOSED': 'Die Registrierung ist auf diesem Server geschlossen.',
    'err.FORBIDDEN_MAIL_PROVIDER': 'Adressen dieses Mail-Anbieters sind nicht erlaubt.',
    'err.EMAIL_NOT_VERIFIED': 'Bestätigen Sie zuerst Ihre Adresse mit dem Code aus unserer E-Mail.',
    'err.invalidEmail': 'Geben Sie eine gültige E-Mail-Adresse ein.',
    'err.pwUpper': 'Das Passwort braucht mindestens einen Großbuchstaben.',
    'err.pwLower': 'Das Passwort braucht mindestens einen Kleinbuchstaben.',
    'err.pwDigit': 'Das Passwort braucht mindestens eine Ziffer.',
    'err.pwShort': 'Das Passwort braucht mindestens {n} Zeichen.',
    'err.pwLong': 'Das Passwort darf höchstens {n} Zeichen haben.',
    'err.codeLength': 'Der Code hat 6 Ziffern.',
    'err.NO_PENDING_EMAIL_TRANSFER': 'Fordern Sie zuerst einen neuen Code an.',
    'verify.title': 'Adresse bestätigen',
    'verify.intro': 'Wir haben einen Code an {email} gesendet. Geben Sie ihn ein, um die Adresse zu bestätigen.',
    'verify.code': 'Code aus der E-Mail',
    'verify.submit': 'Adresse bestätigen',
    'verify.resend': 'Neuen Code senden',
    'verify.sent': 'Ein neuer Code wurde an {email} gesendet.',
    'verify.done': 'Ihre Adresse ist bestätigt.',
    'verify.open': 'Diese Adresse bestätigen',
    'err.EMAIL_ALREADY_VERIFIED': 'Diese Adresse ist bereits bestätigt.',
    'err.NO_PENDING_EMAIL_VERIFICATION': 'Fordern Sie zuerst einen neuen Code an.',
    'del.passwordHint': 'Mit Ihrem Passwort bestätigen Sie, dass Sie es sind.',
    'pk.name': 'Name des Passkeys (optional)',
    'pk.namePlaceholder': 'Dieser Laptop',
    'pk.create': 'Passkey erstellen',
    'pk.ipHost': 'Passkeys brauchen die Adresse des Servers mit einem Domainnamen (GATEHOUSE_PUBLIC_URL); unter einer IP-Adresse funktionieren sie nicht.',
    'pk.list': 'Ihre Passkeys',
    'pk.unnamed': 'Passkey',
    'pk.added': 'Hinzugefügt',
    'err.UNABLE_TO_FIND_MAIL_TEMPLATE': 'Dieser Server kann diese E-Mail nicht senden.',
  },
};

/** The first of the browser's languages the page speaks (en, nl, fr, de), else English. */
export function pickLanguage(preferred) {
  for (const tag of preferred || []) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (Object.hasOwn(MESSAGES, primary)) return primary;
  }
  return 'en';
}

const LANG = pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]);
const SERVICE = document.querySelector('meta[name="gatehouse-service"]')?.content || 'Gatehouse';
const REGISTRATION_OPEN = document.querySelector('meta[name="gatehouse-registration"]')?.content === 'open';
const VERIFY_EMAIL = document.querySelector('meta[name="gatehouse-verify-email"]')?.content === 'required';

/** The message `key` in the page's language, with {name} replaced from vars. */
function t(key, vars = {}) {
  const s = MESSAGES[LANG][key] ?? MESSAGES.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

const dateFormat = new Intl.DateTimeFormat(LANG, { dateStyle: 'medium', timeStyle: 'short' });
function formatDate(value) {
  if (value === undefined || value === null || value === '') return '';
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : dateFormat.format(d);
}

// ---------------------------------------------------------------- DOM helpers

/** h('button', {type: 'submit', onclick}, 'text', child...) builds an element. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;
/** A labelled input: {label, name, type, autocomplete, value, hint, inputmode, ...}. */
function field({ label, hint, ...input }) {
  const id = `f${++fieldSeq}-${input.name}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const el = h('input', { id, type: 'text', required: true, 'aria-describedby': hintId, ...input });
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), el, hint && h('p', { class: 'hint', id: hintId, text: hint }));
}

/** A field for a 6-digit code. */
function codeField(label, name) {
  return field({ label, name, inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', minlength: '6', spellcheck: 'false' });
}

const statusEl = () => document.getElementById('status');
/** Show a message in the live region (errors in red). */
function say(message, { error = false } = {}) {
  statusEl().replaceChildren(h('p', { class: error ? 'error' : 'ok', text: message }));
}
function clearStatus() {
  statusEl().replaceChildren();
}

/**
 * Wire a form: on submit, run fn(values) with the submit buttons disabled; an ApiError is shown
 * in the live region (messages overrides the text of an error code).
 */
function onSubmit(form, fn, messages = {}) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    // Every control waits with the request: nothing is typed into a form that is going away
    // (a script's next fill waits for the next view's field).
    const controls = [...form.querySelectorAll('button, input')].filter((c) => !c.disabled);
    controls.forEach((c) => (c.disabled = true));
    form.setAttribute('aria-busy', 'true');
    try {
      await fn(values);
    } catch (err) {
      showError(err, messages);
    } finally {
      controls.forEach((c) => (c.disabled = false));
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

/** The 401 codes of a token that no longer works: the session is over (signed out elsewhere). */
const SESSION_OVER = new Set(['TOKEN_REVOKED', 'TOKEN_EXPIRED', 'NO_TOKEN_PROVIDED', 'INVALID_TOKEN']);

function showError(err, messages = {}) {
  if (err instanceof Error && !(err instanceof ApiError) && err.message === '') return clearStatus(); // a cancelled prompt
  if (err instanceof ApiError && err.status === 401 && SESSION_OVER.has(err.code)) {
    forget();
    go('#signin');
    say(t('err.sessionOver'), { error: true });
    return;
  }
  if (!(err instanceof ApiError)) {
    console.warn(err);
    say(err instanceof TypeError ? t('err.network') : String(err?.message ?? err), { error: true });
    return;
  }
  say(messages[err.code] ?? errorText(err), { error: true });
}

/** The user-facing text of an API error. */
function errorText(err) {
  const code = err.code || '';
  if (err.status === 429) return err.retryAfter > 0 ? t('err.tooMany', { s: err.retryAfter }) : t('err.tooManyNow');
  if (Object.hasOwn(MESSAGES.en, `err.${code}`)) return t(`err.${code}`);
  let m;
  if (/must match format "email"|^Invalid email address$/.test(code)) return t('err.invalidEmail');
  if (/uppercase/.test(code)) return t('err.pwUpper');
  if (/lowercase/.test(code)) return t('err.pwLower');
  if (/digit/.test(code)) return t('err.pwDigit');
  if ((m = /(?:password|Password)\w* must NOT have fewer than (\d+) characters/i.exec(code))) return t('err.pwShort', { n: m[1] });
  if ((m = /(?:password|Password)\w* must NOT have more than (\d+) characters/i.exec(code))) return t('err.pwLong', { n: m[1] });
  if (/(otp|totp) must NOT have (fewer|more) than 6/.test(code)) return t('err.codeLength');
  if (err.status >= 500 || !code) return t('err.generic', { code: code || err.status });
  return code; // a policy plugin's own sentence
}

// ---------------------------------------------------------------- the API

/** An error answer of the API: its status, message code and (on 429) retryAfter seconds. */
class ApiError extends Error {
  constructor(status, code, retryAfter) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * One request to the API. token: a bearer token to send (else the id_token cookie goes, as the
 * browser sends it to its own origin). Resolves to the parsed JSON, the text of a text/plain
 * answer, or null; rejects with an ApiError.
 */
async function call(method, path, { body, token, query } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined || method !== 'GET') headers['Content-Type'] = 'application/json';
  let url = path;
  if (query) url += (path.includes('?') ? '&' : '?') + new URLSearchParams(query).toString();
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    redirect: 'error',
  });
  const type = res.headers.get('Content-Type') || '';
  const text = await res.text();
  if (!res.ok) {
    let env = {};
    try {
      env = JSON.parse(text);
    } catch {
      /* not an envelope */
    }
    throw new ApiError(res.status, env.message || '', Number(env.retryAfter ?? res.headers.get('Retry-After') ?? 0));
  }
  if (res.status === 204 || text === '') return null;
  if (type.startsWith('application/json')) return JSON.parse(text);
  return text;
}

/** The seconds-since-epoch expiry of a JWT (0 if unreadable). */
function expiryOf(jwt) {
  try {
    const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).exp || 0;
  } catch {
    return 0;
  }
}

// The signed-in state: short-lived tokens in memory only.
const session = {
  access: '',
  sudo: '',
  user: null, // GET /user, when the server has it
  twofa: null, // GET /user/2fa
  email: '', // the address typed at sign-in (before GET /user answers)
};

function fresh(tok) {
  return tok && expiryOf(tok) * 1000 - Date.now() > 20000;
}

function forget() {
  session.access = session.sudo = '';
  session.user = session.twofa = null;
}

/** An access token: the cached one, or a new one minted with the refresh cookie. */
async function accessToken() {
  if (fresh(session.access)) return session.access;
  session.access = await call('GET', '/auth/accesstoken');
  return session.access;
}

/** A request with the access token; a token that ended meanwhile is renewed once. */
async function withAccess(method, path, opts = {}) {
  try {
    return await call(method, path, { ...opts, token: await accessToken() });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && err.code === 'TOKEN_EXPIRED') {
      session.access = '';
      return call(method, path, { ...opts, token: await accessToken() });
    }
    throw err;
  }
}

/** Does the route exist? (a feature another version of the server may not have) */
function missingRoute(err) {
  return err instanceof ApiError && err.status === 404 && /^Route /.test(err.code);
}

/** Active second factors of GET /user/2fa: [{id, completedAt}], recovery codes excluded. */
function activeMethods(tf) {
  if (!tf) return [];
  if (Array.isArray(tf.methods)) return tf.methods.filter((m) => m.id !== 'recovery-code' && m.id !== 'recoveryCodes');
  const out = [];
  if (tf.totp) out.push({ id: 'totp', completedAt: tf.totp.completedAt });
  if (tf.emailOtp) out.push({ id: 'email-otp', completedAt: tf.emailOtp.completedAt });
  return out;
}

/**
 * A request that needs a sudo token (S, or S|A* while 2FA is on): the cached sudo token, else
 * the access token while no second factor is active, else the second factor is asked again in
 * `host` (an element the prompt is shown in) and the request is repeated with its sudo token.
 */
async function withSudo(host, method, path, opts = {}, { strict = false } = {}) {
  const needsFactor = activeMethods(session.twofa).length > 0;
  if (fresh(session.sudo)) return call(method, path, { ...opts, token: session.sudo });
  if (!needsFactor && !strict) {
    try {
      return await withAccess(method, path, opts);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401 && (err.code === 'SUDO_TOKEN_REQUIRED' || err.code === 'WRONG_TOKEN_TYPE'))) throw err;
    }
  }
  session.sudo = await askSecondFactor(host);
  return call(method, path, { ...opts, token: session.sudo });
}

// ---------------------------------------------------------------- passkeys (WebAuthn)

/** WebAuthn refuses an IP address as the relying party: passkeys need a domain name. */
const onIPAddress = () => /^\d+\.\d+\.\d+\.\d+$|^\[.*\]$/.test(location.hostname);

const passkeysSupported = () =>
  !onIPAddress() &&
  typeof window.PublicKeyCredential === 'function' &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function';

/** The publicKey request options of a challenge answer ({publicKey} or the options). */
function optionsOf(answer) {
  return answer?.publicKey ?? answer?.options?.publicKey ?? answer?.options ?? answer;
}

async function passkeyAssertion(challenge) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(optionsOf(challenge));
  const cred = await navigator.credentials.get({ publicKey });
  return cred.toJSON();
}

async function passkeyCreation(setup) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(optionsOf(setup));
  const cred = await navigator.credentials.create({ publicKey });
  return cred.toJSON();
}

// ---------------------------------------------------------------- second factor (sign-in and sudo)

const METHOD_PATHS = { totp: 'totp', 'email-otp': 'email-otp', passkey: 'passkey' };

/**
 * The second-factor form: one method at a time (authenticator app first), with buttons to
 * switch to an email code, a recovery code or a passkey. authenticate(path, body) does the
 * call with the right token and resolves when done. Returns the element.
 */
function secondFactorForm({ methods, submitLabel, authenticate, challengeToken, onCancel }) {
  const ids = methods.map((m) => m.id);
  const choices = [...ids.filter((id) => METHOD_PATHS[id]), ...(ids.length ? ['recovery-code'] : [])];
  const box = h('div', { class: 'second-factor' });
  const show = (method) => {
    const form = h('form', { novalidate: false });
    const others = choices.filter((c) => c !== method);
    const labels = { totp: t('mfa.useTotp'), 'email-otp': t('mfa.useEmail'), 'recovery-code': t('mfa.useRecovery'), passkey: t('mfa.usePasskey') };
    const switchers = h('div', { class: 'links' },
      others.map((o) => h('button', { type: 'button', class: 'link', onclick: () => { clearStatus(); show(o); }, text: labels[o] })),
      onCancel && h('button', { type: 'button', class: 'link', onclick: onCancel, text: t('cancel') }));
    if (method === 'totp') {
      form.append(codeField(t('mfa.totp'), 'code'), h('div', { class: 'actions' }, h('button', { type: 'submit', text: submitLabel })));
      onSubmit(form, (v) => authenticate('/user/2fa/totp/authenticate', { totp: v.code.trim() }));
    } else if (method === 'email-otp') {
      const sent = h('p', { class: 'hint' });
      const send = async () => {
        try {
          await call('POST', '/user/2fa/email-otp/challenge', { body: {}, token: await challengeToken(), query: { language: LANG } });
          const to = session.twofa?.emailOtp?.email;
          say(to ? t('mfa.emailSent', { email: to }) : t('mfa.emailSentAny'));
        } catch (err) {
          showError(err);
        }
      };
      form.append(
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: send, text: t('mfa.sendEmail') })),
        sent,
        codeField(t('mfa.email'), 'code'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: submitLabel })),
      );
      onSubmit(form, (v) => authenticate('/user/2fa/email-otp/authenticate', { otp: v.code.trim() }));
    } else if (method === 'recovery-code') {
      form.append(field({ label: t('mfa.recovery'), name: 'code', autocomplete: 'off', spellcheck: 'false' }),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: submitLabel })));
      onSubmit(form, (v) => authenticate('/user/2fa/recovery-code/authenticate', { recoveryCode: v.code.trim() }));
    } else if (method === 'passkey') {
      form.append(h('p', { text: passkeysSupported() ? t('mfa.passkeyIntro') : t('pk.unsupported') }),
        h('div', { class: 'actions' }, h('button', { type: 'submit', disabled: !passkeysSupported(), text: submitLabel })));
      onSubmit(form, async () => {
        const challenge = await call('POST', '/user/2fa/passkey/challenge', { body: {}, token: await challengeToken() });
        let credential;
        try {
          credential = await passkeyAssertion(challenge);
        } catch (err) {
          if (err?.name === 'NotAllowedError' || err?.name === 'AbortError') throw new Error(t('pk.cancelled'));
          throw err;
        }
        await authenticate('/user/2fa/passkey/authenticate', { credential });
      });
    }
    box.replaceChildren(form, switchers);
    box.querySelector('input')?.focus();
  };
  show(choices[0] ?? 'recovery-code');
  return box;
}

/** Ask the second factor again in host; resolves to a sudo token. */
function askSecondFactor(host) {
  return new Promise((resolve, reject) => {
    const panel = h('div', { class: 'panel', role: 'group', 'aria-labelledby': 'sudo-title' },
      h('h3', { id: 'sudo-title', text: t('sudo.title') }),
      h('p', { text: t('sudo.intro') }));
    const form = secondFactorForm({
      methods: activeMethods(session.twofa),
      submitLabel: t('sudo.submit'),
      challengeToken: accessToken,
      authenticate: async (path, body) => {
        const r = await withAccess('POST', path, { body });
        panel.remove();
        resolve(r.sudoToken);
      },
      onCancel: () => {
        panel.remove();
        reject(new Error(''));
      },
    });
    panel.append(form);
    host.append(panel);
    panel.querySelector('input, button')?.focus();
  });
}

// ---------------------------------------------------------------- views

const main = () => document.getElementById('main');

/** Show a view: a heading (focused, for keyboard and screen-reader users) and its content. */
function view(title, ...content) {
  document.title = `${title} · ${SERVICE}`;
  const heading = h('h1', { tabindex: '-1', text: title });
  main().replaceChildren(heading, ...content);
  heading.focus();
  renderTopActions();
}

function renderTopActions() {
  const box = document.getElementById('top-actions');
  box.replaceChildren();
  if (session.access) box.append(h('button', { type: 'button', class: 'secondary', onclick: signOut, text: t('signout') }));
}

/** Show the view of hash now (a history entry, no hashchange round trip). */
function go(hash) {
  if (location.hash !== hash) history.pushState(null, '', `${location.pathname}${hash}`);
  route();
}

function signInView(prefill = '') {
  const form = h('form', {},
    field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', value: prefill || session.email || undefined }),
    field({ label: t('field.password'), name: 'password', type: 'password', autocomplete: 'current-password' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('signin.submit') })));
  onSubmit(form, async (v) => {
    session.email = v.email.trim();
    await login(session.email, v.password);
  });
  view(t('signin.title'), form,
    h('p', { class: 'links' },
      REGISTRATION_OPEN && h('a', { href: '#register', text: t('link.register') }),
      h('a', { href: '#forgot', text: t('link.forgot') })));
}

/**
 * Log in with the password (the token goes into the cookie); an address still to be confirmed
 * (GATEHOUSE_VERIFY_EMAIL=required) gets the confirmation form first, which logs in after.
 */
async function login(email, password) {
  try {
    await call('POST', '/auth/login', { body: { username: email, password }, query: { cookie: 'true' } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && err.code === 'EMAIL_NOT_VERIFIED') return verifyView(email, password);
    throw err;
  }
  clearStatus();
  await afterLogin();
}

/** Confirm the address with the mailed code (no token yet: the body names the address). */
function verifyView(email, password) {
  const form = h('form', {},
    h('p', { text: t('verify.intro', { email }) }),
    codeField(t('verify.code'), 'otp'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('verify.submit') })));
  onSubmit(form, async (v) => {
    await call('POST', '/user/email/verify', { body: { email, otp: v.otp.trim() } });
    say(t('verify.done'));
    await login(email, password);
  });
  const resend = h('button', {
    type: 'button', class: 'link', text: t('verify.resend'),
    onclick: async () => {
      try {
        await call('POST', '/user/email/verify/send', { body: { email }, query: { language: LANG } });
        say(t('verify.sent', { email }));
      } catch (err) {
        showError(err);
      }
    },
  });
  view(t('verify.title'), form, h('p', { class: 'links' }, resend, h('a', { href: '#signin', text: t('link.signin') })));
}

/** After the password: the overview, or the second factor when the cookie holds a partial token. */
async function afterLogin() {
  forget();
  try {
    await accessToken();
  } catch (err) {
    if (err instanceof ApiError && err.code === '2FA_REQUIRED') return secondFactorView();
    throw err;
  }
  history.replaceState(null, '', `${location.pathname}#account`);
  await overview();
}

async function secondFactorView() {
  // The partial token is the cookie: GET /user/2fa and the authenticate calls take it.
  const tf = await call('GET', '/user/2fa');
  session.twofa = tf;
  const form = secondFactorForm({
    methods: activeMethods(tf),
    submitLabel: t('mfa.submit'),
    challengeToken: async () => undefined,
    authenticate: async (path, body) => {
      const r = await call('POST', path, { body });
      // The refresh token goes into the HttpOnly cookie (a new one in the same session).
      await call('GET', '/auth/refreshtoken', { token: r.refreshToken, query: { cookie: 'true' } });
      session.access = r.accessToken;
      session.sudo = r.sudoToken;
      clearStatus();
      history.replaceState(null, '', `${location.pathname}#account`);
      await overview();
    },
    onCancel: async () => {
      await call('POST', '/auth/logout').catch(() => {});
      forget();
      go('#signin');
    },
  });
  view(t('mfa.title'), h('p', { text: t('mfa.intro') }), form);
}

function registerView() {
  const form = h('form', {},
    field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username' }),
    field({ label: t('field.password'), name: 'password', type: 'password', autocomplete: 'new-password', hint: t('password.hint') }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('register.submit') })));
  onSubmit(form, async (v) => {
    const email = v.email.trim();
    await call('POST', '/user', { body: { email, password: v.password }, query: { language: LANG } });
    session.email = email;
    say(t('register.done'));
    await login(email, v.password);
  });
  view(t('register.title'), REGISTRATION_OPEN ? form : h('p', { text: t('register.closed') }),
    h('p', { class: 'links' }, h('a', { href: '#signin', text: t('link.signin') })));
}

function forgotView() {
  const form = h('form', {},
    h('p', { text: t('forgot.intro') }),
    field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', value: session.email || undefined }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('forgot.submit') })));
  onSubmit(form, async (v) => {
    const email = v.email.trim();
    await call('POST', '/auth/forgot-password', { body: { email }, query: { language: LANG } });
    say(t('forgot.sent', { email }));
  });
  view(t('forgot.title'), form, h('p', { class: 'links' }, h('a', { href: '#signin', text: t('link.signin') })));
}

function resetView(params) {
  const form = h('form', {},
    field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', value: params.get('email') || undefined }),
    codeField(t('reset.code'), 'otp'),
    field({ label: t('field.newPassword'), name: 'password', type: 'password', autocomplete: 'new-password', hint: t('password.hint') }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('reset.submit') })));
  const otp = params.get('otp');
  if (otp) form.querySelector('input[name=otp]').value = otp;
  onSubmit(form, async (v) => {
    const email = v.email.trim();
    await call('PUT', '/user/password/otp', { body: { userEmail: email, otp: v.otp.trim(), newPassword: v.password } });
    forget();
    session.email = email;
    go('#signin');
    say(t('reset.done'));
  });
  view(t('reset.title'), form, h('p', { class: 'links' }, h('a', { href: '#signin', text: t('link.signin') })));
  // The code leaves the address bar and the history; the form keeps it.
  history.replaceState(null, '', `${location.pathname}#reset`);
  if (params.get('email') && otp) form.querySelector('input[name=password]').focus();
}

async function signOut() {
  try {
    await call('POST', '/auth/logout');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) return showError(err);
  }
  forget();
  go('#signin');
  say(t('signedOut'));
}

// ---------------------------------------------------------------- the overview

/** Only one form of the overview is open at a time; opening one closes the other. */
let closeOpenPanel = null;

/** A section with a button that opens a panel built by build(panel, close). */
function opener(label, build, { danger = false } = {}) {
  const wrap = h('div', { class: 'opener' });
  const button = h('button', { type: 'button', class: danger ? 'danger' : 'secondary', text: label });
  const close = () => {
    wrap.replaceChildren(button);
    if (closeOpenPanel === close) closeOpenPanel = null;
  };
  button.addEventListener('click', async () => {
    closeOpenPanel?.();
    clearStatus();
    const panel = h('div', { class: 'panel' });
    wrap.replaceChildren(panel);
    closeOpenPanel = close;
    try {
      await build(panel, close);
      panel.querySelector('input')?.focus();
    } catch (err) {
      close();
      if (err?.message !== '') showError(err);
    }
  });
  wrap.append(button);
  return wrap;
}

function cancelButton(close) {
  return h('button', { type: 'button', class: 'secondary', onclick: () => { close(); clearStatus(); }, text: t('cancel') });
}

/** The show-once recovery codes, with copy and download. */
function recoveryCodesPanel(codes, onDone) {
  const email = session.user?.email || session.email || '';
  const text = `${t('rc.fileHeader', { email, service: SERVICE })}\n\n${codes.join('\n')}\n`;
  const panel = h('section', { class: 'panel' },
    h('h2', { id: 'rc-title', text: t('rc.title') }),
    h('p', { text: t('rc.intro') }),
    h('ol', { class: 'codes', 'aria-label': t('rc.list') }, codes.map((c) => h('li', {}, h('code', { text: c })))),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'secondary', text: t('rc.copy'),
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(text);
            say(t('rc.copied'));
          } catch {
            say(t('rc.copyFailed'), { error: true });
          }
        },
      }),
      h('button', {
        type: 'button', class: 'secondary', text: t('rc.download'),
        onclick: () => {
          const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
          const a = h('a', { href: url, download: `${SERVICE.replace(/[^\w.-]+/g, '-').toLowerCase()}-recovery-codes.txt` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 1000);
        },
      }),
      h('button', { type: 'button', onclick: onDone, text: t('rc.done') })));
  return panel;
}

async function loadAccount() {
  const [user, twofa] = await Promise.all([
    withAccess('GET', '/user').catch((err) => {
      if (missingRoute(err) || (err instanceof ApiError && err.status === 404)) return null;
      throw err;
    }),
    withAccess('GET', '/user/2fa'),
  ]);
  session.user = user;
  session.twofa = twofa;
  if (user?.email) session.email = user.email;
}

async function overview(notice) {
  try {
    await loadAccount();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      forget();
      if (err.code === '2FA_REQUIRED') return secondFactorView();
      go('#signin');
      return;
    }
    throw err;
  }
  closeOpenPanel = null;
  const codesSlot = h('div', {});
  const showCodes = (codes) => {
    if (!codes?.length) return;
    codesSlot.replaceChildren(recoveryCodesPanel(codes, () => { codesSlot.replaceChildren(); main().querySelector('h1')?.focus(); }));
    codesSlot.querySelector('h2')?.setAttribute('tabindex', '-1');
    codesSlot.querySelector('h2')?.focus();
  };
  const refresh = (message) => overview(message);
  view(t('overview.title'),
    codesSlot,
    accountSection(refresh),
    twoFactorSection(refresh, showCodes),
    passwordSection(),
    sessionsSection(),
    deleteSection());
  if (notice) say(notice);
  const pending = pendingCodes;
  pendingCodes = null;
  if (pending) showCodes(pending);
}

/** Recovery codes an enable call returned, shown once by the next overview. */
let pendingCodes = null;

function accountSection(refresh) {
  const u = session.user;
  const email = u?.email || session.email;
  const facts = h('dl', { class: 'facts' },
    h('dt', { text: t('account.email') }),
    h('dd', {}, email || '—', VERIFY_EMAIL && u && 'emailVerified' in u ? h('span', { class: u.emailVerified ? 'badge on' : 'badge', text: u.emailVerified ? t('account.verified') : t('account.unverified') }) : null),
    u?.createdAt && h('dt', { text: t('account.created') }),
    u?.createdAt && h('dd', { text: formatDate(u.createdAt) }));
  const change = opener(t('email.change'), async (panel, close) => {
    const step1 = h('form', {},
      field({ label: t('email.new'), name: 'email', type: 'email', autocomplete: 'email' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('email.send') }), cancelButton(close)));
    onSubmit(step1, async (v) => {
      const newEmail = v.email.trim();
      await withSudo(panel, 'POST', '/user/email/initiate', { body: { email: newEmail }, query: { language: LANG } });
      const step2 = h('form', {},
        h('p', { text: t('email.codeSent', { email: newEmail }) }),
        codeField(t('email.code'), 'otp'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('email.submit') }), cancelButton(close)));
      onSubmit(step2, async (w) => {
        await withAccess('PUT', '/user/email', { body: { otp: w.otp.trim() } });
        session.email = newEmail;
        await refresh(t('email.done', { email: newEmail }));
      });
      panel.replaceChildren(step2);
      say(t('email.codeSent', { email: newEmail }));
      step2.querySelector('input').focus();
    });
    panel.append(step1);
  });
  const confirm = VERIFY_EMAIL && u && u.emailVerified === false && opener(t('verify.open'), async (panel, close) => {
    await withAccess('POST', '/user/email/verify/send', { body: {}, query: { language: LANG } });
    const form = h('form', {},
      h('p', { text: t('verify.intro', { email }) }),
      codeField(t('verify.code'), 'otp'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('verify.submit') }), cancelButton(close)));
    onSubmit(form, async (v) => {
      await withAccess('POST', '/user/email/verify', { body: { otp: v.otp.trim() } });
      await refresh(t('verify.done'));
    });
    panel.append(form);
    say(t('verify.sent', { email }));
  });
  return h('section', { class: 'card' }, h('h2', { id: 'acct-h', text: t('account.h') }), facts,
    h('div', { class: 'actions' }, change, confirm));
}

function twoFactorSection(refresh, showCodes) {
  const tf = session.twofa || {};
  const active = new Set(activeMethods(tf).map((m) => m.id));
  const on = (id) => active.has(id);
  const badge = (yes) => h('span', { class: yes ? 'badge on' : 'badge', text: yes ? t('tfa.on') : t('tfa.off') });
  const afterEnable = async (message, r) => {
    pendingCodes = r?.recoveryCodes?.length ? r.recoveryCodes : null;
    await refresh(message);
  };
  const items = [];

  // Authenticator app (TOTP)
  const totp = h('li', {}, h('h3', {}, t('tfa.totp'), badge(on('totp'))));
  if (on('totp')) {
    totp.append(opener(t('totp.disable'), async (panel) => {
      await withSudo(panel, 'DELETE', '/user/2fa/totp', {}, { strict: true });
      await refresh(t('totp.disabled'));
    }));
  } else {
    totp.append(opener(t('totp.setup'), async (panel, close) => {
      const setup = await withSudo(panel, 'POST', '/user/2fa/totp/setup', { body: {} });
      const secret = new URL(setup.url.replace(/^otpauth:/, 'http:')).searchParams.get('secret') || '';
      const form = h('form', {},
        h('p', { text: t('totp.scan') }),
        setup.qr && h('img', { class: 'qr', src: setup.qr, alt: t('totp.qr'), width: '200', height: '200' }),
        h('p', {}, h('span', { id: 'totp-secret-label', text: `${t('totp.secret')}: ` }),
          h('code', { class: 'secret', id: 'totp-secret', 'aria-labelledby': 'totp-secret-label', 'data-secret': secret, text: secret })),
        h('p', {}, h('a', { href: setup.url, text: t('totp.open') })),
        codeField(t('mfa.totp'), 'code'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('totp.enable') }), cancelButton(close)));
      onSubmit(form, async (v) => {
        const r = await withAccess('POST', '/user/2fa/totp/enable', { body: { totp: v.code.trim() } });
        await afterEnable(t('totp.enabled'), r);
      });
      panel.append(form);
    }));
  }
  items.push(totp);

  // Email codes
  const eotp = h('li', {}, h('h3', {}, t('tfa.emailOtp'), badge(on('email-otp'))));
  if (on('email-otp')) {
    if (tf.emailOtp?.email) eotp.append(h('p', { class: 'muted', text: tf.emailOtp.email }));
    eotp.append(opener(t('eotp.disable'), async (panel) => {
      await withSudo(panel, 'DELETE', '/user/2fa/email-otp', {}, { strict: true });
      await refresh(t('eotp.disabled'));
    }));
  } else {
    eotp.append(opener(t('eotp.setup'), async (panel, close) => {
      const step1 = h('form', {},
        field({ label: t('eotp.address'), name: 'email', type: 'email', autocomplete: 'email', value: session.user?.email || session.email || undefined }),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('email.send') }), cancelButton(close)));
      onSubmit(step1, async (v) => {
        const to = v.email.trim();
        await withSudo(panel, 'POST', '/user/2fa/email-otp/setup', { body: { email: to }, query: { language: LANG } });
        const step2 = h('form', {},
          h('p', { text: t('email.codeSent', { email: to }) }),
          codeField(t('mfa.email'), 'otp'),
          h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('eotp.enable') }), cancelButton(close)));
        onSubmit(step2, async (w) => {
          const r = await withAccess('POST', '/user/2fa/email-otp/enable', { body: { otp: w.otp.trim() } });
          await afterEnable(t('eotp.enabled'), r);
        });
        panel.replaceChildren(step2);
        say(t('email.codeSent', { email: to }));
        step2.querySelector('input').focus();
      });
      panel.append(step1);
    }));
  }
  items.push(eotp);

  // Passkeys (when the server has the passkey method and the browser can use them)
  if (passkeyRoutes) {
    const pk = h('li', {}, h('h3', {}, t('tfa.passkey'), badge(on('passkey'))));
    const creds = tf.passkey?.credentials ?? [];
    if (creds.length) {
      pk.append(h('ul', { class: 'plain', 'aria-label': t('pk.list') }, creds.map((c) =>
        h('li', {}, c.name || t('pk.unnamed'), c.createdAt && h('span', { class: 'muted', text: ` · ${t('pk.added')} ${formatDate(c.createdAt)}` })))));
    }
    if (onIPAddress()) pk.append(h('p', { class: 'muted', text: t('pk.ipHost') }));
    else if (!passkeysSupported()) pk.append(h('p', { class: 'muted', text: t('pk.unsupported') }));
    else {
      pk.append(opener(t('pk.setup'), async (panel, close) => {
        const form = h('form', {},
          field({ label: t('pk.name'), name: 'name', required: false, autocomplete: 'off', maxlength: '64', placeholder: t('pk.namePlaceholder') }),
          h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('pk.create') }), cancelButton(close)));
        onSubmit(form, async (v) => {
          const body = v.name?.trim() ? { name: v.name.trim() } : {};
          // Adding to an active passkey method needs a sudo token (enable then does too).
          const setup = await withSudo(panel, 'POST', '/user/2fa/passkey/setup', { body }, { strict: on('passkey') });
          let credential;
          try {
            credential = await passkeyCreation(setup);
          } catch (err) {
            if (err?.name === 'NotAllowedError' || err?.name === 'AbortError') throw new Error(t('pk.cancelled'));
            throw err;
          }
          const r = on('passkey')
            ? await withSudo(panel, 'POST', '/user/2fa/passkey/enable', { body: { credential } }, { strict: true })
            : await withAccess('POST', '/user/2fa/passkey/enable', { body: { credential } });
          await afterEnable(t('pk.enabled'), r);
        });
        panel.append(form);
      }));
    }
    if (on('passkey')) {
      pk.append(opener(t('pk.disable'), async (panel) => {
        await withSudo(panel, 'DELETE', '/user/2fa/passkey', {}, { strict: true });
        await refresh(t('pk.disabled'));
      }));
    }
    items.push(pk);
  }

  // Recovery codes (while 2FA is on)
  if (active.size > 0) {
    const rc = h('li', {}, h('h3', {}, t('tfa.recovery'), badge(!!tf.recoveryCodes)));
    rc.append(opener(t('rc.reset'), async (panel, close) => {
      const r = await withSudo(panel, 'POST', '/user/2fa/recovery-code/reset', { body: {} }, { strict: true });
      close();
      say(t('rc.resetDone'));
      showCodes(r.recoveryCodes);
    }));
    items.push(rc);
  }
  return h('section', { class: 'card' },
    h('h2', { id: 'tfa-h', text: t('tfa.h') }),
    active.size === 0 && h('p', { text: t('tfa.none') }),
    h('ul', { class: 'plain' }, items));
}

function passwordSection() {
  const change = opener(t('pw.change'), async (panel, close) => {
    const form = h('form', {},
      // The account's address for password managers (hidden, not a field to fill in).
      h('input', { type: 'email', name: 'username', autocomplete: 'username', value: session.user?.email || session.email || '', hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
      field({ label: t('pw.current'), name: 'oldPassword', type: 'password', autocomplete: 'current-password' }),
      field({ label: t('field.newPassword'), name: 'newPassword', type: 'password', autocomplete: 'new-password', hint: t('password.hint') }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('pw.submit') }), cancelButton(close)));
    onSubmit(form, async (v) => {
      await withSudo(panel, 'PUT', '/user/password/old-password', { body: { oldPassword: v.oldPassword, newPassword: v.newPassword } });
      close();
      say(t('pw.done'));
      sessionsRefresh?.();
    }, { PASSWORD_INCORRECT: t('err.PASSWORD_INCORRECT.change') });
    panel.append(form);
  });
  return h('section', { class: 'card' }, h('h2', { id: 'pw-h', text: t('pw.h') }), change);
}

/** A short name for a user agent: browser and system. */
function deviceName(ua) {
  if (!ua) return t('sess.unknownDevice');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : /curl\//.test(ua) ? 'curl' : /node/i.test(ua) ? 'Node.js' : '';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  const name = [browser, system].filter(Boolean).join(' · ');
  return name || ua.slice(0, 60);
}

let sessionsRefresh = null;

function sessionsSection() {
  const list = h('div', {});
  const section = h('section', { class: 'card' },
    h('h2', { id: 'sess-h', text: t('sess.h') }), h('p', { class: 'muted', text: t('sess.intro') }), list);
  const load = async () => {
    let r;
    try {
      r = await withAccess('GET', '/user/sessions');
    } catch (err) {
      if (missingRoute(err)) return list.replaceChildren(h('p', { class: 'muted', text: t('sess.unavailable') }));
      return showError(err);
    }
    const sessions = [...(r?.sessions ?? [])].sort((a, b) => (b.current ? 1 : 0) - (a.current ? 1 : 0));
    const ul = h('ul', { class: 'plain', 'aria-label': t('sess.h') });
    for (const s of sessions) {
      const li = h('li', { 'data-session': s.id },
        h('h3', {}, deviceName(s.userAgent), s.current && h('span', { class: 'badge on', text: t('sess.this') })),
        h('dl', { class: 'facts' },
          h('dt', { text: t('sess.created') }), h('dd', { text: formatDate(s.createdAt) }),
          s.lastUsedAt && h('dt', { text: t('sess.used') }), s.lastUsedAt && h('dd', { text: formatDate(s.lastUsedAt) }),
          s.ip && h('dt', { text: t('sess.ip') }), s.ip && h('dd', { text: s.ip })));
      if (!s.current) {
        const slot = h('div', {});
        const btn = h('button', {
          type: 'button', class: 'secondary', text: t('sess.signout'),
          onclick: async () => {
            btn.disabled = true;
            try {
              await withSudo(slot, 'DELETE', `/user/sessions/${encodeURIComponent(s.id)}`);
              say(t('sess.ended'));
              await load();
            } catch (err) {
              if (err?.message !== '') showError(err);
              btn.disabled = false;
            }
          },
        });
        li.append(btn, slot);
      }
      ul.append(li);
    }
    const everywhere = sessions.length > 1 && h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'danger', text: t('sess.everywhere'),
        onclick: async () => {
          try {
            await call('POST', '/auth/logout/all');
          } catch (err) {
            if (!(err instanceof ApiError && err.status === 401)) return showError(err);
          }
          forget();
          go('#signin');
          say(t('signedOutEverywhere'));
        },
      }));
    list.replaceChildren(ul, everywhere || '');
  };
  sessionsRefresh = load;
  load();
  // The list follows sign-ins elsewhere while the page is open: looked at again every 5 s
  // while visible, redrawn only when the set of sessions changed and no confirmation is open.
  clearInterval(sessionsTimer);
  sessionsTimer = setInterval(async () => {
    if (document.hidden || !section.isConnected) {
      if (!section.isConnected) clearInterval(sessionsTimer);
      return;
    }
    if (section.querySelector('.panel')) return;
    try {
      const r = await withAccess('GET', '/user/sessions');
      const ids = (r?.sessions ?? []).map((s) => s.id).sort().join(' ');
      const shown = [...list.querySelectorAll('[data-session]')].map((li) => li.dataset.session).sort().join(' ');
      if (ids !== shown && !section.querySelector('.panel')) await load();
    } catch {
      /* signed out meanwhile: the next action says so */
    }
  }, 5000);
  return section;
}

let sessionsTimer = 0;

function deleteSection() {
  const open = opener(t('del.open'), async (panel, close) => {
    const withFactor = activeMethods(session.twofa).length > 0;
    const form = h('form', {},
      // Without 2FA there is no sudo token to get: the password proves presence instead.
      !withFactor && field({ label: t('del.password'), name: 'password', type: 'password', autocomplete: 'current-password', hint: t('del.passwordHint') }),
      h('div', { class: 'field check' },
        h('input', { type: 'checkbox', id: 'del-confirm', name: 'confirm', required: true }), ' ',
        h('label', { for: 'del-confirm', text: t('del.confirm') })),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger', text: t('del.submit') }), cancelButton(close)));
    onSubmit(form, async (v) => {
      const query = { language: LANG };
      try {
        if (withFactor) await withSudo(panel, 'DELETE', '/user', { body: {}, query }, { strict: true });
        else await withAccess('DELETE', '/user', { body: { password: v.password }, query });
      } catch (err) {
        if (missingRoute(err)) throw new Error(t('del.unavailable'));
        throw err;
      }
      forget();
      go('#signin');
      say(t('del.done'));
    }, { PASSWORD_INCORRECT: t('err.PASSWORD_INCORRECT.change') });
    panel.append(form);
  }, { danger: true });
  return h('section', { class: 'card' },
    h('h2', { id: 'del-h', text: t('del.h') }), h('p', { text: t('del.intro') }), open);
}

// ---------------------------------------------------------------- routing

let passkeyRoutes = false;

async function route() {
  const hash = location.hash.replace(/^#/, '');
  const [name, query = ''] = hash.split('?');
  closeOpenPanel = null;
  try {
    switch (name) {
      case 'register':
        return registerView();
      case 'forgot':
        return forgotView();
      case 'reset':
        return resetView(new URLSearchParams(query));
      case 'signin':
        forget();
        return signInView();
      default:
        return await start();
    }
  } catch (err) {
    showError(err);
  }
}

/** The landing: the overview when the cookie holds a session, else sign-in. */
async function start() {
  try {
    await accessToken();
  } catch (err) {
    if (err instanceof ApiError && err.code === '2FA_REQUIRED') return secondFactorView();
    if (err instanceof ApiError && err.status === 401) {
      if (location.hash && location.hash !== '#signin') history.replaceState(null, '', `${location.pathname}#signin`);
      return signInView();
    }
    throw err;
  }
  return overview();
}

/** Does this server have the passkey method? (OPTIONS on a known path answers 204, else 404.) */
async function detectPasskeys() {
  try {
    const res = await fetch('/user/2fa/passkey/setup', { method: 'OPTIONS', credentials: 'omit', cache: 'no-store' });
    passkeyRoutes = res.ok;
  } catch {
    passkeyRoutes = false;
  }
}

document.documentElement.lang = LANG;
window.addEventListener('hashchange', route);
detectPasskeys().finally(route);
