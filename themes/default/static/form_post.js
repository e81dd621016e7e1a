// Submits the form_post response automatically; without JavaScript the user presses Continue.
document.getElementById('form-post').submit();
