//! Receiving csyslogd messages on UDP and TCP. (In progress.)
