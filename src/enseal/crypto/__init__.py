"""enseal.crypto"""
