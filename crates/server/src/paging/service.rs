//! What both the API and the pages of this feature call.
