//! Following an alert file across rotation. (In progress.)
